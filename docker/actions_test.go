package docker

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/swarm"

	"github.com/certdock/certdock/cert"
)

// ctrID is the ID of the containers the action tests act on.
const ctrID = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"

// containersIn returns a fake's containers: "web" in state (nil: no state
// reported), known by name and by ID.
func containersIn(state *container.State) map[string]container.InspectResponse {
	ct := container.InspectResponse{ID: ctrID, Name: "/web", State: state}
	return map[string]container.InspectResponse{"web": ct, ctrID: ct}
}

var (
	running = &container.State{Status: container.StateRunning, Running: true}
	exited  = &container.State{Status: container.StateExited, ExitCode: 137}
)

// checkErr checks err against a wanted substring and sentinel; wantErr ""
// and wantIs nil mean no error.
func checkErr(t *testing.T, what string, err error, wantErr string, wantIs error) {
	t.Helper()
	switch {
	case wantErr == "" && wantIs == nil:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case err == nil:
		t.Fatalf("%s succeeded, want an error containing %q wrapping %v", what, wantErr, wantIs)
	case wantIs != nil && !errors.Is(err, wantIs):
		t.Fatalf("%s = %v, want an error wrapping %v", what, err, wantIs)
	case wantIs == nil && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotRunning)):
		t.Fatalf("%s = %v, which wraps a daemon state", what, err)
	case !strings.Contains(err.Error(), wantErr):
		t.Fatalf("%s = %v, want an error containing %q", what, err, wantErr)
	}
}

func TestRestartDecisions(t *testing.T) {
	secs := func(n int) *int { return &n }
	tests := []struct {
		name        string
		target      string
		containers  map[string]container.InspectResponse
		inspectErr  error
		restartErr  error
		stopTimeout time.Duration
		wantCalls   []string
		// wantTimeout is the stop timeout sent, in seconds (nil: the
		// container's own).
		wantTimeout *int
		wantErr     string
		wantIs      error
	}{
		{
			name: "running, by ID", target: "web", containers: containersIn(running), stopTimeout: 10 * time.Second,
			wantCalls: []string{"ContainerInspect web", "ContainerRestart " + ctrID}, wantTimeout: secs(10),
		},
		{
			name: "stop timeout rounded up to a second", target: "web", containers: containersIn(running), stopTimeout: 1500 * time.Millisecond,
			wantCalls: []string{"ContainerInspect web", "ContainerRestart " + ctrID}, wantTimeout: secs(2),
		},
		{
			name: "no stop timeout: the container's own", target: "web", containers: containersIn(running),
			wantCalls: []string{"ContainerInspect web", "ContainerRestart " + ctrID},
		},
		{
			name: "negative stop timeout: the container's own", target: "web", containers: containersIn(running), stopTimeout: -time.Second,
			wantCalls: []string{"ContainerInspect web", "ContainerRestart " + ctrID},
		},
		{
			name: "stopped container is left stopped", target: "web", containers: containersIn(exited), stopTimeout: time.Second,
			wantCalls: []string{"ContainerInspect web"}, wantIs: ErrNotRunning,
			wantErr: "docker: restart: container web not running",
		},
		{
			name: "no state reported", target: "web", containers: containersIn(nil),
			wantCalls: []string{"ContainerInspect web"}, wantIs: ErrNotRunning,
		},
		{
			name: "missing", target: "gone", containers: containersIn(running),
			wantCalls: []string{"ContainerInspect gone"}, wantIs: ErrNotFound,
			wantErr: "docker: restart: container gone not found",
		},
		{
			name: "daemon unreachable", target: "web", inspectErr: errors.New("Cannot connect to the Docker daemon"),
			wantCalls: []string{"ContainerInspect web"},
			wantErr:   "docker: restart: container web: Cannot connect to the Docker daemon",
		},
		{
			name: "stops between inspect and restart", target: "web", containers: containersIn(running), restartErr: notRunning(ctrID),
			wantCalls: []string{"ContainerInspect web", "ContainerRestart " + ctrID}, wantIs: ErrNotRunning,
		},
		{
			name: "removed between inspect and restart", target: "web", containers: containersIn(running), restartErr: notFound("container", ctrID),
			wantCalls: []string{"ContainerInspect web", "ContainerRestart " + ctrID}, wantIs: ErrNotFound,
		},
		{
			name: "restart fails", target: "web", containers: containersIn(running), restartErr: errors.New("cannot restart container: OCI runtime error"),
			wantCalls: []string{"ContainerInspect web", "ContainerRestart " + ctrID},
			wantErr:   "docker: restart: container web: cannot restart container: OCI runtime error",
		},
		{name: "empty name", target: "", wantErr: "docker: restart: empty container name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEngine{containers: tt.containers, inspectErr: tt.inspectErr, restartErr: tt.restartErr}
			err := newFakeClient(t, f, "").Restart(t.Context(), tt.target, tt.stopTimeout)
			checkErr(t, "Restart", err, tt.wantErr, tt.wantIs)
			if got := f.methods(); !reflect.DeepEqual(got, tt.wantCalls) {
				t.Errorf("calls = %q, want %q", got, tt.wantCalls)
			}
			if len(f.restarts) == 1 {
				o := f.restarts[0]
				if !reflect.DeepEqual(o.Timeout, tt.wantTimeout) {
					t.Errorf("restart timeout = %v, want %v", ptrString(o.Timeout), ptrString(tt.wantTimeout))
				}
				if o.Signal != "" {
					t.Errorf("restart signal = %q, want the container's own (API 1.41 ignores it)", o.Signal)
				}
			}
		})
	}
}

// ptrString renders an optional number.
func ptrString(p *int) string {
	if p == nil {
		return "nil"
	}
	return strconv.Itoa(*p)
}

func TestSignalDecisions(t *testing.T) {
	tests := []struct {
		name, target, signal string
		killErr              error
		// wantSignal is what reaches the daemon ("" : no call).
		wantSignal string
		wantErr    string
		wantIs     error
	}{
		{name: "canonical name", target: "web", signal: "SIGHUP", wantSignal: "SIGHUP"},
		{name: "short lower-case name", target: "web", signal: "usr1", wantSignal: "SIGUSR1"},
		{name: "number", target: "web", signal: "1", wantSignal: "SIGHUP"},
		{name: "real-time", target: "web", signal: "SIGRTMIN+3", wantSignal: "SIGRTMIN+3"},
		{name: "unknown signal reaches no daemon", target: "web", signal: "SIGFOO", wantErr: `docker: signal: container web: unknown signal "SIGFOO"`},
		{name: "empty signal", target: "web", signal: "", wantErr: "empty signal"},
		{name: "empty name", target: "", signal: "HUP", wantErr: "docker: signal: empty container name"},
		{name: "missing", target: "web", signal: "HUP", killErr: notFound("container", "web"), wantSignal: "SIGHUP", wantIs: ErrNotFound, wantErr: "docker: signal SIGHUP: container web not found"},
		{name: "stopped", target: "web", signal: "HUP", killErr: notRunning("web"), wantSignal: "SIGHUP", wantIs: ErrNotRunning},
		{name: "daemon fails", target: "web", signal: "HUP", killErr: errors.New("EOF"), wantSignal: "SIGHUP", wantErr: "docker: signal SIGHUP: container web: EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEngine{killErr: tt.killErr}
			err := newFakeClient(t, f, "").Signal(t.Context(), tt.target, tt.signal)
			checkErr(t, "Signal", err, tt.wantErr, tt.wantIs)
			var got string
			if len(f.kills) > 0 {
				got = f.kills[0].Signal
			}
			if got != tt.wantSignal || len(f.kills) > 1 {
				t.Errorf("kills = %+v, want one with signal %q", f.kills, tt.wantSignal)
			}
			if calls := f.methods(); len(calls) > 0 && calls[0] != "ContainerKill "+tt.target {
				t.Errorf("calls = %q, want ContainerKill by the name given", calls)
			}
		})
	}
}

// TestActDispatch checks which daemon calls each action becomes, which
// errors Act returns, and that it goes on after a failure.
func TestActDispatch(t *testing.T) {
	completed := []fakeProgress{{status: updateStatus(swarm.UpdateStateCompleted, svcStarted.Add(time.Hour), "")}}
	tests := []struct {
		name       string
		actions    []cert.Action
		containers map[string]container.InspectResponse
		killErr    error
		cancelled  bool
		wantCalls  []string
		// wantErrs are substrings of the errors returned, in order.
		wantErrs []string
	}{
		{
			name:       "restart a container",
			actions:    []cert.Action{{Kind: cert.Restart, Target: "web"}},
			containers: containersIn(running),
			wantCalls:  []string{"ContainerInspect web", "ContainerRestart " + ctrID},
		},
		{
			name:      "restart a service is a force-update",
			actions:   []cert.Action{{Kind: cert.Restart, Target: svcName, Service: true}},
			wantCalls: []string{"ServiceInspect " + svcName, "ServiceUpdate " + svcID, "ServiceInspect " + svcID},
		},
		{
			name:      "signal",
			actions:   []cert.Action{{Kind: cert.Signal, Target: "web", Signal: "hup"}},
			wantCalls: []string{"ContainerKill web"},
		},
		{
			name:      "exec",
			actions:   []cert.Action{{Kind: cert.Exec, Target: "web", Command: []string{"nginx", "-s", "reload"}}},
			wantCalls: []string{"ExecCreate web", "ExecAttach exec1", "ExecInspect exec1"},
		},
		{
			name:       "a stopped container is skipped, not failed",
			actions:    []cert.Action{{Kind: cert.Restart, Target: "web"}, {Kind: cert.Signal, Target: "web", Signal: "HUP"}},
			containers: containersIn(exited),
			killErr:    notRunning("web"),
			wantCalls:  []string{"ContainerInspect web", "ContainerKill web"},
		},
		{
			name: "a missing target fails, the next action still runs",
			actions: []cert.Action{
				{Kind: cert.Restart, Target: "gone"},
				{Kind: cert.Restart, Target: "web"},
			},
			containers: containersIn(running),
			wantCalls:  []string{"ContainerInspect gone", "ContainerInspect web", "ContainerRestart " + ctrID},
			wantErrs:   []string{"docker: restart: container gone not found"},
		},
		{
			name: "services take only restarts",
			actions: []cert.Action{
				{Kind: cert.Signal, Target: svcName, Service: true, Signal: "HUP"},
				{Kind: cert.Exec, Target: svcName, Service: true, Command: []string{"true"}},
			},
			wantErrs: []string{
				"Swarm services can only be force-updated (restart), not sent signal actions",
				"Swarm services can only be force-updated (restart), not sent exec actions",
			},
		},
		{
			name:     "unknown kind",
			actions:  []cert.Action{{Kind: "teleport", Target: "web"}},
			wantErrs: []string{`unknown action kind "teleport"`},
		},
		{
			name:      "nothing is done once the context has ended",
			actions:   []cert.Action{{Kind: cert.Restart, Target: "web"}, {Kind: cert.Signal, Target: "web", Signal: "HUP"}},
			cancelled: true,
			wantErrs:  []string{"docker: restart web: context canceled", "docker: signal web: HUP: context canceled"},
		},
		{name: "no actions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeEngine{
					containers: tt.containers,
					killErr:    tt.killErr,
					svc:        fakeService{service: testService(nil, nil), progress: completed},
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.cancelled {
					cancel()
				}
				errs := newFakeClient(t, f, "").Act(ctx, tt.actions)
				if len(errs) != len(tt.wantErrs) {
					t.Fatalf("Act = %v, want %d errors %q", errs, len(tt.wantErrs), tt.wantErrs)
				}
				for i, err := range errs {
					if !strings.Contains(err.Error(), tt.wantErrs[i]) {
						t.Errorf("error %d = %v, want one containing %q", i, err, tt.wantErrs[i])
					}
				}
				if got := f.methods(); !reflect.DeepEqual(got, tt.wantCalls) {
					t.Errorf("calls = %q, want %q", got, tt.wantCalls)
				}
			})
		})
	}
}

// TestActTimeouts pins the time Act gives each kind of action: a caller
// may be held for up to 5 minutes by a service force-update, 60 s by an
// exec; a container restart lets the container take 10 s to stop.
func TestActTimeouts(t *testing.T) {
	updating := []fakeProgress{{status: updateStatus(swarm.UpdateStateUpdating, svcStarted.Add(time.Hour), "update in progress")}}
	tests := []struct {
		name   string
		action cert.Action
		// method is the first call whose context is checked.
		method string
		// wantLeft is the time left on its context (0: no deadline).
		wantLeft time.Duration
		// wantTook is how long Act takes against a daemon that never
		// finishes.
		wantTook time.Duration
		wantErr  string
	}{
		{
			name:     "force-update waits 5 minutes to converge",
			action:   cert.Action{Kind: cert.Restart, Target: svcName, Service: true},
			method:   "ServiceInspect",
			wantLeft: 5 * time.Minute, wantTook: 5 * time.Minute,
			wantErr: "not converged after 5m0s (update updating): context deadline exceeded",
		},
		{
			name:     "exec gets 60 s",
			action:   cert.Action{Kind: cert.Exec, Target: "web", Command: []string{"sleep", "3600"}},
			method:   "ExecCreate",
			wantLeft: time.Minute, wantTook: time.Minute,
			wantErr: "docker: exec sleep: container web: timed out after 1m0s",
		},
		{
			name:   "container restart is bounded by the daemon, 10 s stop timeout",
			action: cert.Action{Kind: cert.Restart, Target: "web"},
			method: "ContainerRestart",
		},
		{
			name:   "signal has no deadline of its own",
			action: cert.Action{Kind: cert.Signal, Target: "web", Signal: "HUP"},
			method: "ContainerKill",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeEngine{
					containers: containersIn(running),
					svc:        fakeService{service: testService(nil, nil), progress: updating},
					exec:       fakeExec{hang: true},
				}
				start := time.Now()
				errs := newFakeClient(t, f, "").Act(t.Context(), []cert.Action{tt.action})
				if took := time.Since(start); took != tt.wantTook {
					t.Errorf("Act took %v, want %v", took, tt.wantTook)
				}
				if left, ok := f.timeoutOf(tt.method); !ok || left != tt.wantLeft {
					t.Errorf("%s had %v left on its context (called: %t), want %v", tt.method, left, ok, tt.wantLeft)
				}
				switch {
				case tt.wantErr == "" && len(errs) != 0:
					t.Errorf("Act = %v, want no error", errs)
				case tt.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.wantErr)):
					t.Errorf("Act = %v, want one error containing %q", errs, tt.wantErr)
				}
				if tt.method == "ContainerRestart" {
					if len(f.restarts) != 1 || f.restarts[0].Timeout == nil || *f.restarts[0].Timeout != 10 {
						t.Errorf("restarts = %+v, want one with a 10 s stop timeout", f.restarts)
					}
				}
			})
		})
	}
}
