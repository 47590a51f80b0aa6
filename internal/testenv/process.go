package testenv

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// stopGrace is how long a server may take to exit after SIGTERM before
	// it is killed.
	stopGrace = 5 * time.Second
	// tailBytes is how much of a server's output is kept for failure logs.
	tailBytes = 64 << 10
	// tailLines is how many lines of that output are shown.
	tailLines = 60
)

// tailBuffer is an io.Writer that keeps the last tailBytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	// Compact only when twice the limit is reached, so that writes stay
	// cheap.
	if over := len(b.buf) - tailBytes; over > tailBytes {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String returns the last tailBytes written.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf[max(0, len(b.buf)-tailBytes):])
}

// tail returns the last n lines kept so far.
func (b *tailBuffer) tail(n int) string {
	s := strings.TrimRight(b.String(), "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// process is a server started for a test.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, valid once done is closed

	stopOnce sync.Once
	mu       sync.Mutex
	quiet    bool // do not log the output tail on failure
}

// startProcess starts argv with env (nil: inherit) and registers a cleanup
// that stops it and, if the test failed, logs the tail of its output.
func startProcess(t testing.TB, name string, env []string, argv ...string) (*process, error) {
	t.Helper()
	p := &process{name: name, out: &tailBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = env
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	p.cmd.SysProcAttr = sysProcAttr()
	p.cmd.WaitDelay = 2 * time.Second
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		p.mu.Lock()
		quiet := p.quiet
		p.mu.Unlock()
		if t.Failed() && !quiet {
			t.Logf("testenv: last output of %s (pid %d):\n%s", p.name, p.cmd.Process.Pid, p.out.tail(tailLines))
		}
	})
	return p, nil
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// silence stops the cleanup from logging the output tail (used once the
// output has been reported another way).
func (p *process) silence() {
	p.mu.Lock()
	p.quiet = true
	p.mu.Unlock()
}

// stop sends SIGTERM, waits up to stopGrace, then kills the process. It is
// safe to call more than once.
func (p *process) stop(t testing.TB) {
	p.stopOnce.Do(func() {
		if done, _ := p.exited(); done {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			return
		case <-time.After(stopGrace):
		}
		t.Logf("testenv: %s (pid %d) ignored SIGTERM for %v; killing it", p.name, p.cmd.Process.Pid, stopGrace)
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			t.Errorf("testenv: %s (pid %d) did not exit after SIGKILL", p.name, p.cmd.Process.Pid)
		}
	})
}

// addrInUse reports whether the output says a listener could not bind
// (Go: "address already in use"; named: "address in use").
func addrInUse(output string) bool {
	s := strings.ToLower(output)
	return strings.Contains(s, "address already in use") || strings.Contains(s, "address in use")
}
