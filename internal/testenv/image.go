package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// busyboxImageRepo is the repository name of the image BusyboxImage builds.
const busyboxImageRepo = "certdock-test-busybox"

// busyboxDockerfile builds the image from nothing but a static busybox:
// RUN uses the exec form because the image has no shell until busybox
// installs its applets, and a scratch image has no /tmp.
const busyboxDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "mkdir", "-p", "/tmp"]
`

// imageBuildTimeout bounds the image check and build.
const imageBuildTimeout = 2 * time.Minute

var busyboxImage struct {
	once sync.Once
	ref  string
	err  error
}

// BusyboxImage returns the reference of a local test image built FROM
// scratch with a static busybox as /bin/busybox, its applets (sh, sleep,
// cat, httpd, ...) linked into /bin, and an empty /tmp. It needs no
// registry and no network.
//
// The image is built once per test process with `docker build`, and an
// image already present from an earlier run is reused: its tag is a hash of
// the busybox binary and the Dockerfile, so a new busybox gets a new image.
// Images are kept between runs (they are not per-test state); remove them
// with `docker image rm $(docker images -q certdock-test-busybox)`. The
// image has no labels, so containers run from it carry only the labels a
// test gives them.
//
// It skips t (fails it under CI=true) when Docker, the docker CLI or a
// static busybox is missing, and under -short; it fails t when the build
// fails.
func BusyboxImage(t testing.TB) string {
	t.Helper()
	RequireDocker(t)
	busybox := BusyboxPath(t)
	docker := requireBinary(t, "docker", "docker.io")
	busyboxImage.once.Do(func() {
		busyboxImage.ref, busyboxImage.err = buildBusyboxImage(docker, busybox)
	})
	if busyboxImage.err != nil {
		t.Fatalf("testenv: %v", busyboxImage.err)
	}
	return busyboxImage.ref
}

// buildBusyboxImage returns the image's reference, building it unless it
// exists.
func buildBusyboxImage(docker, busybox string) (string, error) {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return "", fmt.Errorf("reading busybox: %w", err)
	}
	h := sha256.New()
	h.Write(bin)
	h.Write([]byte(busyboxDockerfile))
	ref := busyboxImageRepo + ":" + hex.EncodeToString(h.Sum(nil))[:16]

	ctx, cancel := context.WithTimeout(context.Background(), imageBuildTimeout)
	defer cancel()
	if exec.CommandContext(ctx, docker, "image", "inspect", "--format", "{{.Id}}", ref).Run() == nil {
		return ref, nil
	}

	dir, err := os.MkdirTemp("", "certdock-busybox-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "busybox"), bin, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(busyboxDockerfile), 0o644); err != nil {
		return "", err
	}
	// Several test processes may build at once: they produce the same
	// image and the tag moves atomically.
	out, err := exec.CommandContext(ctx, docker, "build", "--quiet", "--tag", ref, dir).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker build of %s: %v\n%s", ref, err, strings.TrimSpace(string(out)))
	}
	return ref, nil
}

// ComposeCommand returns the argv prefix that runs Docker Compose here:
// the `docker compose` plugin when it answers, else Debian's
// docker-compose. It skips t (fails it under CI=true) when neither is
// installed.
func ComposeCommand(t testing.TB) []string {
	t.Helper()
	RequireDocker(t)
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	return []string{requireBinary(t, "docker-compose", "docker-compose")}
}
