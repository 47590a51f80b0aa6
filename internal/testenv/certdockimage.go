package testenv

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// certdockImageRepo is the repository name of the images
// BuildCertdockImage builds.
const certdockImageRepo = "certdock-test-image"

// certdockImageBuildTimeout bounds a full build of the repository's
// Dockerfile: compiling every lego provider from scratch takes minutes on
// two cores.
const certdockImageBuildTimeout = 24 * time.Minute

// BuildCertdockImage builds the Dockerfile at the repository root (root,
// relative to the test's directory) exactly as users do, except for its
// build arguments: GO_IMAGE is GoImage, BUSYBOX_IMAGE is BusyboxImage and
// GOPROXY is a module proxy the test serves on loopback from this
// machine's module cache (the build runs with host networking to reach
// it), so nothing comes from a registry or the Internet. The image is
// labelled certdock-test=1.
//
// Compiling every DNS provider takes minutes, so the image is shared: its
// tag hashes the build context (the files the Dockerfile's COPY sees, per
// .dockerignore) and the base images, test processes building at the same
// time wait for one build (a file lock), and the image is kept for later
// runs of the same sources. Building a new one removes the images of
// other sources, and every intermediate image the build left.
func BuildCertdockImage(t testing.TB, root string) string {
	t.Helper()
	goRef := GoImage(t)
	busyboxRef := BusyboxImage(t)
	docker := requireBinary(t, "docker", "docker.io")
	cache := goEnv("GOMODCACHE")
	if cache == "" {
		unavailable(t, "go env GOMODCACHE failed")
	}
	key, err := contextHash(root, goRef, busyboxRef)
	if err != nil {
		t.Fatalf("testenv: hashing the build context: %v", err)
	}
	ref := certdockImageRepo + ":src-" + key[:16]

	lock, err := flockFile(filepath.Join(os.TempDir(), "certdock-test-image.lock"), true)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer lock.Close()
	ctx, cancel := context.WithTimeout(context.Background(), certdockImageBuildTimeout)
	defer cancel()
	if exec.CommandContext(ctx, docker, "image", "inspect", "--format", "{{.Id}}", ref).Run() == nil {
		t.Logf("using %s, built earlier from the same sources", ref)
		return ref
	}
	removeOtherCertdockImages(ctx, docker, ref)

	proxy := serveModuleProxy(t, filepath.Join(cache, "cache", "download"))
	before, err := imageIDs(ctx, docker)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, docker, "build", "--network", "host",
		"--build-arg", "GO_IMAGE="+goRef,
		"--build-arg", "BUSYBOX_IMAGE="+busyboxRef,
		"--build-arg", "GOPROXY="+proxy,
		"--build-arg", "VERSION=test",
		"--label", "certdock-test=1",
		"--tag", ref, root)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	out, err := cmd.CombinedOutput()
	// The image itself is kept: its ID joins the ones not to remove.
	if id, ierr := exec.CommandContext(ctx, docker, "image", "inspect", "--format", "{{.Id}}", ref).Output(); ierr == nil {
		before = append(before, strings.TrimSpace(string(id)))
	}
	removeBuildLeftovers(ctx, docker, before)
	if err != nil {
		t.Fatalf("docker build of the repository's Dockerfile: %v\n%s", err, tail(string(out), 60))
	}
	t.Logf("built %s from the repository's Dockerfile in %v", ref, time.Since(start).Round(time.Second))
	return ref
}

// removeOtherCertdockImages removes every BuildCertdockImage image but
// keep: they were built from other sources.
func removeOtherCertdockImages(ctx context.Context, docker, keep string) {
	out, err := exec.CommandContext(ctx, docker, "images", "--format", "{{.Repository}}:{{.Tag}}", certdockImageRepo).Output()
	if err != nil {
		return
	}
	for _, ref := range strings.Fields(string(out)) {
		if ref != keep {
			exec.CommandContext(ctx, docker, "image", "rm", "--force", ref).Run()
		}
	}
}

// removeBuildLeftovers removes the images a build added, except those in
// keep (the images before it, and the one built): the classic builder
// keeps one per step, and those under the tagged image cannot be removed
// and go with it. Removing one may remove its parents, so failures are
// ignored.
func removeBuildLeftovers(ctx context.Context, docker string, keep []string) {
	after, err := imageIDs(ctx, docker)
	if err != nil {
		return
	}
	for _, id := range after {
		if !slices.Contains(keep, id) {
			exec.CommandContext(ctx, docker, "image", "rm", id).Run()
		}
	}
}

// contextHash hashes what a docker build of root sends (every file not
// excluded by root/.dockerignore, plus the Dockerfile) and the extra
// strings (base image references, themselves content hashes).
func contextHash(root string, extra ...string) (string, error) {
	ignore, err := dockerignore(filepath.Join(root, ".dockerignore"))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, e := range extra {
		fmt.Fprintf(h, "extra %q\n", e)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "Dockerfile" && ignored(ignore, rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %q %o\n", typeLetter(info.Mode()), rel, info.Mode().Perm())
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "-> %q\n", target)
		case info.Mode().IsRegular():
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(h, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func typeLetter(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "d"
	case m&fs.ModeSymlink != 0:
		return "l"
	case m.IsRegular():
		return "f"
	}
	return "o"
}

// dockerignore reads the patterns of a .dockerignore file (none when it
// does not exist). Exceptions (!pattern) are not supported: the
// repository's file has none, and one there is an error.
func dockerignore(path string) ([]string, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var pats []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.TrimSpace(sc.Text())
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		if strings.HasPrefix(p, "!") {
			return nil, fmt.Errorf("%s: exception patterns (%s) are not supported by testenv's context hash", path, p)
		}
		pats = append(pats, strings.TrimPrefix(filepath.ToSlash(filepath.Clean(p)), "/"))
	}
	return pats, sc.Err()
}

// ignored reports whether rel matches a pattern as Docker matches them:
// path.Match on the path relative to the context root, where a leading
// "**/" matches any number of directories (none included). Other uses of
// "**" are not understood: a pattern Docker matches and this does not
// only makes the hash cover more than the build sees, never less.
func ignored(pats []string, rel string) bool {
	for _, p := range pats {
		if ok, _ := filepath.Match(p, rel); ok {
			return true
		}
		if sub, ok := strings.CutPrefix(p, "**/"); ok {
			for tail := rel; ; {
				if ok, _ := filepath.Match(sub, tail); ok {
					return true
				}
				_, rest, more := strings.Cut(tail, "/")
				if !more {
					break
				}
				tail = rest
			}
		}
	}
	return false
}
