package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// outputTailSize is how much of an exec's output ExecResult keeps.
const outputTailSize = 4 << 10

// execPoll is the interval between inspections of an exec whose output has
// ended but whose exit code is not recorded yet.
const execPoll = 20 * time.Millisecond

// ExecResult is the outcome of a command run in a container.
type ExecResult struct {
	// ExitCode is the command's exit status (126/127 when the daemon could
	// not run it); -1 when it is unknown (timeout).
	ExitCode int
	// OutputTail is the last 4 KiB of its standard output and standard
	// error, interleaved as they were written.
	OutputTail string
	// Duration is how long the command ran, from creation to exit.
	Duration time.Duration
}

// Exec runs argv in a running container, as the container's user and
// without a shell (argv[0] is looked up in the container's PATH), waits at
// most timeout (<= 0: only ctx bounds it) for it to exit, and returns its
// exit code and the tail of its output. A non-zero exit code is an error
// naming the container, argv[0] and the code, with the output tail. On
// timeout Exec returns an error, but the process keeps running in the
// container: the Docker API cannot kill an exec. A missing container gives
// an error wrapping ErrNotFound, a stopped one an error wrapping
// ErrNotRunning.
func (c *Client) Exec(ctx context.Context, container string, argv []string, timeout time.Duration) (ExecResult, error) {
	res := ExecResult{ExitCode: -1}
	if err := checkName("exec", "container", container); err != nil {
		return res, err
	}
	if len(argv) == 0 || argv[0] == "" {
		return res, fmt.Errorf("docker: exec: container %s: empty command", container)
	}
	start := time.Now()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	fail := func(err error) (ExecResult, error) {
		res.Duration = time.Since(start)
		if errors.Is(err, context.DeadlineExceeded) {
			return res, fmt.Errorf("docker: exec %s: container %s: timed out after %v (it may still be running in the container)%s",
				argv[0], container, res.Duration.Round(100*time.Millisecond), outputSuffix(res.OutputTail))
		}
		return res, err
	}

	created, err := c.api.ExecCreate(ctx, container, client.ExecCreateOptions{
		AttachStdout: true,
		AttachStderr: true,
		Cmd:          argv,
	})
	if err != nil {
		return fail(opError("exec "+argv[0], "container", container, err))
	}
	att, err := c.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return fail(opError("exec "+argv[0], "container", container, err))
	}
	defer att.Close()
	// The attached connection ignores ctx once established: close it when
	// ctx ends so the read below returns.
	stop := context.AfterFunc(ctx, att.Close)
	defer stop()

	tail := &tailBuffer{max: outputTailSize}
	_, copyErr := stdcopy.StdCopy(tail, tail, att.Reader)
	res.OutputTail = tail.String()
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if copyErr != nil {
		return fail(fmt.Errorf("docker: exec %s: container %s: reading output: %w", argv[0], container, copyErr))
	}

	// The output ends when the process exits; the daemon records the exit
	// code a moment later.
	for {
		ins, err := c.api.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return fail(ctx.Err())
			}
			return fail(opError("exec "+argv[0], "container", container, err))
		}
		if !ins.Running {
			res.ExitCode = ins.ExitCode
			break
		}
		t := time.NewTimer(execPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fail(ctx.Err())
		case <-t.C:
		}
	}
	res.Duration = time.Since(start)
	if res.ExitCode != 0 {
		return res, fmt.Errorf("docker: exec %s: container %s: exited with code %d%s",
			argv[0], container, res.ExitCode, outputSuffix(res.OutputTail))
	}
	return res, nil
}

// outputSuffix renders an output tail for an error message, on one line.
func outputSuffix(tail string) string {
	tail = strings.TrimSpace(tail)
	if tail == "" {
		return " (no output)"
	}
	return fmt.Sprintf("; output: %q", tail)
}

// tailBuffer is an io.Writer that keeps the last max bytes written.
type tailBuffer struct {
	max       int
	buf       []byte
	truncated bool
}

// Write implements io.Writer; it never fails.
func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.truncated = t.truncated || len(t.buf) > 0 || len(p) > t.max
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.truncated = true
		copy(t.buf, t.buf[over:])
		t.buf = t.buf[:len(t.buf)-over]
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns the kept bytes as text: when the start was cut off, from
// the first complete character; invalid UTF-8 is replaced.
func (t *tailBuffer) String() string {
	b := t.buf
	if t.truncated {
		for i := 0; i < len(b) && i < utf8.UTFMax && !utf8.RuneStart(b[0]); i++ {
			b = b[1:]
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
