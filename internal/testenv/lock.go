package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// LockSwarm serialises tests that init, use or leave the engine's Swarm
// across test processes (go test runs packages in parallel, and the engine
// has one Swarm state). It blocks until no other test holds the lock and
// releases it when t's cleanups run; call it before anything that
// registers its own Swarm cleanup, so the lock is released last.
func LockSwarm(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "certdock-swarm.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("swarm lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("swarm lock: %v", err)
	}
	t.Cleanup(func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

// RequireSwarm makes the engine a single-node Swarm manager for the test
// (holding LockSwarm): it runs `docker swarm init --advertise-addr
// 127.0.0.1` when the node is in no swarm, and in cleanup leaves it and
// removes the docker_gwbridge network the init created. A node that
// already manages a swarm is used as it is. It skips (fails under CI=true)
// when the node cannot become a manager.
func RequireSwarm(t testing.TB) {
	t.Helper()
	RequireDocker(t)
	LockSwarm(t)
	state, err := exec.Command("docker", "info", "-f", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}").Output()
	if err != nil {
		t.Fatalf("docker info: %v", err)
	}
	switch strings.TrimSpace(string(state)) {
	case "active true":
		return
	case "inactive false":
	default:
		unavailable(t, "the Docker node is in state %q, not a swarm manager", strings.TrimSpace(string(state)))
	}
	hadBridge := exec.Command("docker", "network", "inspect", "docker_gwbridge").Run() == nil
	if out, err := exec.Command("docker", "swarm", "init", "--advertise-addr", "127.0.0.1").CombinedOutput(); err != nil {
		unavailable(t, "docker swarm init: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("docker", "swarm", "leave", "--force").CombinedOutput(); err != nil {
			t.Errorf("cleanup: swarm leave: %v: %s", err, out)
			return
		}
		if hadBridge {
			return
		}
		for range 50 {
			if exec.Command("docker", "network", "rm", "docker_gwbridge").Run() == nil ||
				exec.Command("docker", "network", "inspect", "docker_gwbridge").Run() != nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Errorf("cleanup: docker_gwbridge created by swarm init could not be removed")
	})
}
