package testenv

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// dockerPingTimeout bounds the whole daemon check.
const dockerPingTimeout = 5 * time.Second

// RequireDocker skips t (fails it under CI=true) unless a Docker daemon
// answers within 5 seconds, and under -short. It honours DOCKER_HOST:
// unix:// and plain tcp:// daemons are pinged directly (GET /_ping);
// anything else (TLS, ssh://, contexts) is checked with `docker info`.
func RequireDocker(t testing.TB) {
	t.Helper()
	RequireE2E(t)
	if err := pingDocker(); err != nil {
		unavailable(t, "Docker daemon not reachable: %v (start dockerd, or point DOCKER_HOST at a daemon)", err)
	}
}

func pingDocker() error {
	ctx, cancel := context.WithTimeout(context.Background(), dockerPingTimeout)
	defer cancel()

	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	tlsWanted := os.Getenv("DOCKER_TLS_VERIFY") != "" || os.Getenv("DOCKER_CERT_PATH") != ""
	var apiErr error
	switch {
	case strings.HasPrefix(host, "unix://"):
		sock := strings.TrimPrefix(host, "unix://")
		apiErr = pingAPI(ctx, "http://docker/_ping", func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		})
	case strings.HasPrefix(host, "tcp://") && !tlsWanted:
		apiErr = pingAPI(ctx, "http://"+strings.TrimSuffix(strings.TrimPrefix(host, "tcp://"), "/")+"/_ping", nil)
	default:
		apiErr = fmt.Errorf("DOCKER_HOST=%s needs the docker CLI", host)
	}
	if apiErr == nil {
		return nil
	}
	// The CLI knows contexts, TLS and ssh; try it before giving up.
	if _, err := exec.LookPath("docker"); err != nil {
		return apiErr
	}
	out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v; docker info: %v: %s", apiErr, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// pingAPI GETs url (through dial if not nil) and wants 200 "OK".
func pingAPI(ctx context.Context, url string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) error {
	tr := &http.Transport{DialContext: dial, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /_ping: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// BusyboxPath returns the path of a statically linked busybox (Debian
// package busybox-static), which test images built FROM scratch copy in as
// /bin/busybox. It skips t (fails it under CI=true) if there is none, and
// under -short.
func BusyboxPath(t testing.TB) string {
	t.Helper()
	RequireE2E(t)
	candidates := []string{"/bin/busybox", "/usr/bin/busybox"}
	if p, err := exec.LookPath("busybox"); err == nil {
		candidates = append(candidates, p)
	}
	var errs []error
	for _, p := range candidates {
		err := checkStatic(p)
		if err == nil {
			return p
		}
		errs = append(errs, err)
	}
	unavailable(t, "no statically linked busybox (%v) (Debian package busybox-static: apt-get install busybox-static)", errors.Join(errs...))
	return ""
}

// checkStatic returns nil if path is an ELF executable without a program
// interpreter, i.e. one that runs in an empty (FROM scratch) image.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}
