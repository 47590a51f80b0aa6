package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// goImageRepo is the repository name of the image GoImage builds.
const goImageRepo = "certdock-test-go"

// goDockerfile makes a Go build image from nothing but this machine's Go
// toolchain, a static busybox (the shell RUN needs) and the host's CA
// bundle. GOTOOLCHAIN=local: the toolchain must never try to download
// another one.
const goDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "mkdir", "-p", "-m", "1777", "/tmp"]
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY go /usr/local/go
ENV PATH=/usr/local/go/bin:/bin GOPATH=/tmp/go GOCACHE=/tmp/go-build HOME=/tmp GOTOOLCHAIN=local
`

// hostCABundle is where Debian keeps the CA bundle copied into GoImage.
const hostCABundle = "/etc/ssl/certs/ca-certificates.crt"

// goImageBuildTimeout bounds sending GOROOT (~300 MB) to the engine.
const goImageBuildTimeout = 10 * time.Minute

var goImage struct {
	once sync.Once
	ref  string
	err  error
}

// GoImage returns a local image usable as the Dockerfile's GO_IMAGE: this
// machine's Go toolchain (go env GOROOT) at /usr/local/go, busybox for
// the shell, and the host's CA bundle, FROM scratch, so no registry is
// needed. Like BusyboxImage it is built once per process and kept between
// runs under a tag that hashes the Go version, busybox and the Dockerfile.
// It skips t (fails it under CI=true) when a prerequisite is missing.
func GoImage(t testing.TB) string {
	t.Helper()
	RequireDocker(t)
	busybox := BusyboxPath(t)
	docker := requireBinary(t, "docker", "docker.io")
	goroot := goEnv("GOROOT")
	if goroot == "" {
		unavailable(t, "go env GOROOT failed: the Go toolchain is needed to build the Go base image")
	}
	if _, err := os.Stat(hostCABundle); err != nil {
		unavailable(t, "%s is missing (Debian package ca-certificates)", hostCABundle)
	}
	goImage.once.Do(func() {
		goImage.ref, goImage.err = buildGoImage(docker, busybox, goroot)
	})
	if goImage.err != nil {
		t.Fatalf("testenv: %v", goImage.err)
	}
	return goImage.ref
}

func buildGoImage(docker, busybox, goroot string) (string, error) {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return "", fmt.Errorf("reading busybox: %w", err)
	}
	goVersion, err := os.ReadFile(filepath.Join(goroot, "VERSION"))
	if err != nil {
		return "", fmt.Errorf("reading the Go version: %w", err)
	}
	h := sha256.New()
	h.Write(bin)
	h.Write(goVersion)
	h.Write([]byte(goDockerfile))
	ref := goImageRepo + ":" + hex.EncodeToString(h.Sum(nil))[:16]

	ctx, cancel := context.WithTimeout(context.Background(), goImageBuildTimeout)
	defer cancel()
	if exec.CommandContext(ctx, docker, "image", "inspect", "--format", "{{.Id}}", ref).Run() == nil {
		return ref, nil
	}
	// The context is streamed as a tar: copying GOROOT to a temporary
	// directory first would double the disk traffic.
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeGoContext(pw, bin, goroot))
	}()
	cmd := exec.CommandContext(ctx, docker, "build", "--quiet", "--tag", ref, "-")
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	cmd.Stdin = pr
	out, err := cmd.CombinedOutput()
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return "", fmt.Errorf("docker build of %s: %v\n%s", ref, err, strings.TrimSpace(string(out)))
	}
	return ref, nil
}

// writeGoContext writes the build context of goDockerfile as a tar.
func writeGoContext(w io.Writer, busybox []byte, goroot string) error {
	tw := tar.NewWriter(w)
	add := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	ca, err := os.ReadFile(hostCABundle)
	if err != nil {
		return err
	}
	if err := add("Dockerfile", 0o644, []byte(goDockerfile)); err != nil {
		return err
	}
	if err := add("busybox", 0o755, busybox); err != nil {
		return err
	}
	if err := add("ca-certificates.crt", 0o644, ca); err != nil {
		return err
	}
	err = filepath.WalkDir(goroot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(goroot, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(filepath.Join("go", rel))
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname, hdr.Uid, hdr.Gid = "", "", 0, 0
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// imageIDs lists the IDs of every image, intermediate ones included.
func imageIDs(ctx context.Context, docker string) ([]string, error) {
	out, err := exec.CommandContext(ctx, docker, "images", "--all", "--quiet", "--no-trunc").Output()
	if err != nil {
		return nil, fmt.Errorf("docker images: %w", err)
	}
	return strings.Fields(string(out)), nil
}

// serveModuleProxy serves dir (a module cache's cache/download, which has
// the GOPROXY protocol's layout) over HTTP on loopback until t ends, and
// returns its URL.
func serveModuleProxy(t testing.TB, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
