package docker

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// TestExecOutcomes checks how Exec reads the daemon's answers: exit codes,
// output, late exit codes, timeouts and the daemon's errors.
func TestExecOutcomes(t *testing.T) {
	argv := []string{"nginx", "-s", "reload"}
	long := strings.Repeat("x", outputTailSize) + "the end"
	tests := []struct {
		name    string
		target  string
		argv    []string
		exec    fakeExec
		timeout time.Duration
		// wantCode, wantTail and wantTook describe the ExecResult.
		wantCode int
		wantTail string
		wantTook time.Duration
		wantErr  string
		wantIs   error
		// wantInspections is how many times the exit code is asked for.
		wantInspections int
	}{
		{
			name: "success with output", argv: argv,
			exec:     fakeExec{output: append(frame(stdcopy.Stdout, "signal process started\n"), frame(stdcopy.Stderr, "warn: x\n")...)},
			wantTail: "signal process started\nwarn: x\n", wantInspections: 1,
		},
		{
			name: "success without output", argv: argv,
			wantInspections: 1,
		},
		{
			name: "non-zero exit is an error with the output", argv: argv,
			exec:     fakeExec{output: frame(stdcopy.Stderr, "nginx: [emerg] cannot load certificate\n"), exitCode: 1},
			wantCode: 1, wantTail: "nginx: [emerg] cannot load certificate\n", wantInspections: 1,
			wantErr: `docker: exec nginx: container web: exited with code 1; output: "nginx: [emerg] cannot load certificate"`,
		},
		{
			name: "command not found", argv: []string{"nosuch"},
			exec:     fakeExec{output: frame(stdcopy.Stdout, "OCI runtime exec failed: exec: \"nosuch\": executable file not found in $PATH\r\n"), exitCode: 127},
			wantCode: 127, wantTail: "OCI runtime exec failed: exec: \"nosuch\": executable file not found in $PATH\r\n", wantInspections: 1,
			wantErr: "docker: exec nosuch: container web: exited with code 127; output:",
		},
		{
			name: "exit without output", argv: argv,
			exec:     fakeExec{exitCode: 3},
			wantCode: 3, wantInspections: 1,
			wantErr: "docker: exec nginx: container web: exited with code 3 (no output)",
		},
		{
			name: "exit code recorded after the output ends", argv: argv,
			exec:     fakeExec{running: 3},
			wantTook: 3 * execPoll, wantInspections: 4,
		},
		{
			name: "only the tail of the output is kept", argv: argv,
			exec:     fakeExec{output: frame(stdcopy.Stdout, long)},
			wantTail: long[len(long)-outputTailSize:], wantInspections: 1,
		},
		{
			name: "timeout while the output runs on", argv: []string{"sleep", "3600"}, timeout: 30 * time.Second,
			exec:     fakeExec{output: frame(stdcopy.Stdout, "sleeping\n"), hang: true},
			wantCode: -1, wantTail: "sleeping\n", wantTook: 30 * time.Second,
			wantErr: `docker: exec sleep: container web: timed out after 30s (it may still be running in the container); output: "sleeping"`,
		},
		{
			// Off the poll grid: a deadline at a poll's instant could
			// come before or after it.
			name: "timeout while the exit code is not recorded", argv: argv, timeout: time.Second + execPoll/2,
			exec:     fakeExec{running: 1 << 30},
			wantCode: -1, wantTook: time.Second + execPoll/2, wantInspections: int(time.Second/execPoll) + 1,
			wantErr: "docker: exec nginx: container web: timed out after 1s (it may still be running in the container) (no output)",
		},
		{
			name: "missing container", argv: argv,
			exec:     fakeExec{createErr: notFound("container", "web")},
			wantCode: -1, wantIs: ErrNotFound,
			wantErr: "docker: exec nginx: container web not found",
		},
		{
			name: "stopped container", argv: argv,
			exec:     fakeExec{createErr: notRunning(ctrID)},
			wantCode: -1, wantIs: ErrNotRunning,
		},
		{
			name: "attach fails", argv: argv,
			exec:     fakeExec{attachErr: errors.New("unable to upgrade to tcp, received 500")},
			wantCode: -1, wantErr: "docker: exec nginx: container web: unable to upgrade to tcp, received 500",
		},
		{
			name: "exit code cannot be read", argv: argv,
			exec:     fakeExec{output: frame(stdcopy.Stdout, "ok\n"), inspectErr: errors.New("EOF")},
			wantCode: -1, wantTail: "ok\n", wantErr: "docker: exec nginx: container web: EOF",
		},
		{
			name: "broken stream", argv: argv,
			exec:     fakeExec{output: []byte{9, 0, 0, 0, 0, 0, 0, 1, 'x'}},
			wantCode: -1, wantErr: "docker: exec nginx: container web: reading output:",
		},
		{name: "empty command", argv: nil, wantCode: -1, wantErr: "docker: exec: container web: empty command"},
		{name: "empty program", argv: []string{""}, wantCode: -1, wantErr: "docker: exec: container web: empty command"},
		{name: "empty container name", target: " ", argv: argv, wantCode: -1, wantErr: "docker: exec: empty container name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				target := cmp.Or(tt.target, "web")
				f := &fakeEngine{exec: tt.exec}
				res, err := newFakeClient(t, f, "").Exec(t.Context(), target, tt.argv, tt.timeout)
				checkErr(t, "Exec", err, tt.wantErr, tt.wantIs)
				if res.ExitCode != tt.wantCode || res.OutputTail != tt.wantTail || res.Duration != tt.wantTook {
					t.Errorf("Exec = {code %d, took %v, tail %q}, want {code %d, took %v, tail %q}",
						res.ExitCode, res.Duration, res.OutputTail, tt.wantCode, tt.wantTook, tt.wantTail)
				}
				if f.exec.inspected != tt.wantInspections {
					t.Errorf("exit code asked for %d times, want %d", f.exec.inspected, tt.wantInspections)
				}
				if len(f.exec.created) == 0 {
					return
				}
				want := client.ExecCreateOptions{AttachStdout: true, AttachStderr: true, Cmd: tt.argv}
				if got := f.exec.created[0]; !reflect.DeepEqual(got, want) {
					t.Errorf("ExecCreate options = %+v, want %+v (no stdin, no TTY, no shell)", got, want)
				}
			})
		})
	}
}

// TestExecCallerCancels checks that a caller's cancel ends the wait for the
// output at once, and is not reported as a timeout.
func TestExecCallerCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeEngine{exec: fakeExec{output: frame(stdcopy.Stdout, "working\n"), hang: true}}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(5*time.Second, cancel)
		start := time.Now()
		res, err := newFakeClient(t, f, "").Exec(ctx, "web", []string{"sleep", "3600"}, time.Minute)
		if took := time.Since(start); took != 5*time.Second {
			t.Errorf("Exec returned after %v, want 5s", took)
		}
		if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "timed out") {
			t.Errorf("Exec = %v, want the caller's cancel", err)
		}
		if res.ExitCode != -1 || res.OutputTail != "working\n" {
			t.Errorf("Exec = %+v, want exit code -1 and the output so far", res)
		}
	})
}

// TestFrame checks the test's stream encoder against the SDK's decoder.
func TestFrame(t *testing.T) {
	var out, errOut bytes.Buffer
	in := append(frame(stdcopy.Stdout, "out"), frame(stdcopy.Stderr, "err")...)
	if _, err := stdcopy.StdCopy(&out, &errOut, bytes.NewReader(in)); err != nil || out.String() != "out" || errOut.String() != "err" {
		t.Fatalf("StdCopy = %q, %q, %v", out.String(), errOut.String(), err)
	}
}
