package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// daemonStartTimeout bounds a node's dockerd start until it answers.
	daemonStartTimeout = time.Minute
	// daemonStopGrace is how long a dockerd may take to exit after
	// SIGTERM (it stops its containers first) before it is killed.
	daemonStopGrace = 20 * time.Second
	// daemonKillWait is how long a dockerd may take to exit after SIGKILL.
	daemonKillWait = 5 * time.Second
	// sockPathMax is the longest unix socket path the kernel accepts
	// (sun_path is 108 bytes with its NUL).
	sockPathMax = 107
	// containerdSockSuffix is the longest socket path containerd creates
	// under the exec root.
	containerdSockSuffix = "/containerd/containerd-debug.sock"
)

// swarmDaemon is one run of a node's dockerd.
type swarmDaemon struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, valid once done is closed
}

// Paths of a node's files, all under its directory.
func (n *SwarmNode) dataRoot() string   { return filepath.Join(n.dir, "data") }
func (n *SwarmNode) execRoot() string   { return filepath.Join(n.dir, "exec") }
func (n *SwarmNode) pidFile() string    { return filepath.Join(n.dir, "docker.pid") }
func (n *SwarmNode) configFile() string { return filepath.Join(n.dir, "daemon.json") }
func (n *SwarmNode) logFile() string    { return filepath.Join(n.dir, "dockerd.log") }

// checkPaths refuses directories whose sockets would exceed the kernel's
// limit.
func (n *SwarmNode) checkPaths() error {
	for _, p := range []string{n.Socket, n.execRoot() + containerdSockSuffix} {
		if len(p) > sockPathMax {
			return fmt.Errorf("socket path %s is longer than %d bytes (set TMPDIR to a shorter directory)", p, sockPathMax)
		}
	}
	return nil
}

// writeConfig writes the node's daemon.json: the host's storage driver
// (a node's data root lies on the same file system as the host's) and
// the MTU. dockerd must not read the host's /etc/docker/daemon.json: it
// sets data-root, and a flag plus the same key in the file is fatal.
func (n *SwarmNode) writeConfig(driver string) error {
	cfg := map[string]any{"mtu": 1400}
	if driver != "" {
		cfg["storage-driver"] = driver
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(n.configFile(), b, 0o644)
}

// startDaemon starts n's dockerd in n's network namespace (entering only
// that namespace: `ip netns exec` would also remount /sys, and dockerd
// then dies with "Devices cgroup isn't mounted") and waits until it
// answers on its socket.
func (s *Swarm) startDaemon(n *SwarmNode) error {
	// A pid file naming a dead dockerd is stale, but dockerd refuses to
	// start if that pid is reused.
	_ = os.Remove(n.pidFile())
	logf, err := os.OpenFile(n.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(s.tools.nsenter, "--net="+netnsPath(n.NetNS), "--",
		s.tools.dockerd,
		"--config-file", n.configFile(),
		"--data-root", n.dataRoot(),
		"--exec-root", n.execRoot(),
		"--pidfile", n.pidFile(),
		"-H", n.DockerHost(),
		"-H", NodeDockerHost,
		"--bridge", "none",
		"--iptables=false",
	)
	// A file, not a pipe: containerd inherits dockerd's output and may
	// outlive it, which would keep Wait waiting for the pipe.
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dockerd: %w", err)
	}
	d := &swarmDaemon{cmd: cmd, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	s.mu.Lock()
	n.daemon = d
	s.mu.Unlock()
	if err := d.waitReady(n.Socket); err != nil {
		return fmt.Errorf("dockerd: %w; last output:\n%s", err, n.logTail(tailLines))
	}
	// nsenter execs dockerd: the pid file must name the process started.
	if b, err := os.ReadFile(n.pidFile()); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(cmd.Process.Pid) {
		return fmt.Errorf("dockerd pid file %s = %q (%v), want %d", n.pidFile(), b, err, cmd.Process.Pid)
	}
	return nil
}

// waitReady pings the engine on sock until it answers, the process exits
// or daemonStartTimeout passes.
func (d *swarmDaemon) waitReady(sock string) error {
	deadline := time.Now().Add(daemonStartTimeout)
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", sock)
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := pingAPI(ctx, "http://docker/_ping", dial)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-d.done:
			return fmt.Errorf("exited before answering: %v", d.err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer on %s after %v: %v", sock, daemonStartTimeout, err)
		}
	}
}

// exited reports whether the process has ended.
func (d *swarmDaemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to daemonStopGrace for dockerd to stop its
// containers and exit, and kills it if it has not.
func (d *swarmDaemon) stop() error {
	if d.exited() {
		return nil
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-d.done:
		return nil
	case <-time.After(daemonStopGrace):
	}
	if err := d.kill(); err != nil {
		return err
	}
	return fmt.Errorf("dockerd (pid %d) ignored SIGTERM for %v and was killed", d.cmd.Process.Pid, daemonStopGrace)
}

// kill sends SIGKILL and waits until the process has exited.
func (d *swarmDaemon) kill() error {
	if d.exited() {
		return nil
	}
	if err := d.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-d.done:
		return nil
	case <-time.After(daemonKillWait):
		return fmt.Errorf("dockerd (pid %d) did not exit after SIGKILL", d.cmd.Process.Pid)
	}
}

// logNoise marks dockerd log lines that say nothing about a failure: in a
// network namespace without IPVS and neighbour tables dockerd complains
// about sysctls at every network change.
const logNoise = "error reading the kernel parameter"

// logTail returns the last n lines of the node's dockerd output, noise
// left out.
func (n *SwarmNode) logTail(lines int) string {
	b, err := os.ReadFile(n.logFile())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > tailBytes {
		b = b[len(b)-tailBytes:]
	}
	var kept []string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !strings.Contains(line, logNoise) {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept[max(0, len(kept)-lines):], "\n")
}
