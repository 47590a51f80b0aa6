package docker

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/moby/moby/api/types/swarm"
)

// The service the ForceUpdate tests update: version 41, ForceUpdate 2.
const (
	svcID      = "svc1"
	svcName    = "web"
	svcVersion = 41
	svcForce   = 2
)

// svcStarted is when the update before the test's started.
var svcStarted = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// testService returns the service, in mode (nil: two replicas), with the
// update status before (nil: never updated).
func testService(mode *swarm.ServiceMode, before *swarm.UpdateStatus) *swarm.Service {
	if mode == nil {
		two := uint64(2)
		mode = &swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &two}}
	}
	return &swarm.Service{
		ID:   svcID,
		Meta: swarm.Meta{Version: swarm.Version{Index: svcVersion}},
		Spec: swarm.ServiceSpec{
			Annotations: swarm.Annotations{Name: svcName, Labels: map[string]string{"certdock.domains": "example.com"}},
			TaskTemplate: swarm.TaskSpec{
				ContainerSpec: &swarm.ContainerSpec{Image: "nginx:1.29", Secrets: []*swarm.SecretReference{{SecretName: "example.com-v3"}}},
				ForceUpdate:   svcForce,
			},
			Mode: *mode,
		},
		UpdateStatus: before,
	}
}

// updateStatus returns an UpdateStatus in state, of the update started at
// start.
func updateStatus(state swarm.UpdateState, start time.Time, msg string) *swarm.UpdateStatus {
	return &swarm.UpdateStatus{State: state, StartedAt: &start, Message: msg}
}

// task returns a task of spec ForceUpdate force in state.
func task(force uint64, state swarm.TaskState) swarm.Task {
	return swarm.Task{
		ServiceID:    svcID,
		Spec:         swarm.TaskSpec{ForceUpdate: force},
		Status:       swarm.TaskStatus{State: state},
		DesiredState: swarm.TaskStateRunning,
	}
}

// tasks returns n tasks of spec ForceUpdate force in state.
func tasks(n int, force uint64, state swarm.TaskState) []swarm.Task {
	var out []swarm.Task
	for range n {
		out = append(out, task(force, state))
	}
	return out
}

// checkForceUpdateSent checks the one update f received: by ID, with the
// inspected version, the spec unchanged but for ForceUpdate+1, registry
// credentials from the spec.
func checkForceUpdateSent(t *testing.T, f *fakeEngine, wantVersion uint64) {
	t.Helper()
	calls := f.methods()
	if !slices.Contains(calls, "ServiceUpdate "+svcID) {
		t.Errorf("calls = %q, want ServiceUpdate by ID %s", calls, svcID)
	}
	if len(f.svc.updates) == 0 {
		t.Fatal("no ServiceUpdate")
	}
	got := f.svc.updates[len(f.svc.updates)-1]
	if got.Version.Index != wantVersion {
		t.Errorf("ServiceUpdate version index = %d, want %d (the inspected one)", got.Version.Index, wantVersion)
	}
	if got.Spec.TaskTemplate.ForceUpdate != svcForce+1 {
		t.Errorf("ServiceUpdate ForceUpdate = %d, want %d", got.Spec.TaskTemplate.ForceUpdate, svcForce+1)
	}
	want := testService(nil, nil).Spec
	want.Mode = got.Spec.Mode
	want.TaskTemplate.ForceUpdate = svcForce + 1
	if !reflect.DeepEqual(got.Spec, want) {
		t.Errorf("ServiceUpdate spec changed beyond ForceUpdate:\n got %+v\nwant %+v", got.Spec, want)
	}
	if got.RegistryAuthFrom != swarm.RegistryAuthFromSpec {
		t.Errorf("ServiceUpdate RegistryAuthFrom = %q, want %q", got.RegistryAuthFrom, swarm.RegistryAuthFromSpec)
	}
}

// count returns how many of calls are call.
func count(calls []string, call string) int {
	n := 0
	for _, c := range calls {
		if c == call {
			n++
		}
	}
	return n
}

func TestForceUpdateConvergence(t *testing.T) {
	later := svcStarted.Add(time.Hour)
	global := &swarm.ServiceMode{Global: &swarm.GlobalService{}}
	one := &swarm.ServiceMode{Replicated: &swarm.ReplicatedService{}} // Replicas nil: 1
	job := &swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{}}
	stale := updateStatus(swarm.UpdateStateCompleted, svcStarted, "update completed")
	const want = svcForce + 1
	tests := []struct {
		name     string
		mode     *swarm.ServiceMode
		before   *swarm.UpdateStatus
		progress []fakeProgress
		// wantPolls is how many inspections the wait takes.
		wantPolls int
		// wantErr is a substring of the error; "" means success.
		wantErr string
		wantIs  error
	}{
		{
			name: "updating then completed",
			progress: []fakeProgress{
				{status: updateStatus(swarm.UpdateStateUpdating, later, "update in progress")},
				{status: updateStatus(swarm.UpdateStateUpdating, later, "update in progress")},
				{status: updateStatus(swarm.UpdateStateCompleted, later, "update completed")},
			},
			wantPolls: 3,
		},
		{
			name:      "completed at the first look",
			progress:  []fakeProgress{{status: updateStatus(swarm.UpdateStateCompleted, later, "update completed")}},
			wantPolls: 1,
		},
		{
			name: "paused",
			progress: []fakeProgress{
				{status: updateStatus(swarm.UpdateStateUpdating, later, "update in progress")},
				{status: updateStatus(swarm.UpdateStatePaused, later, "update paused due to failure or early termination of task x1")},
			},
			wantPolls: 2,
			wantErr:   "docker: force-update: service web: update paused: update paused due to failure or early termination of task x1",
		},
		{
			name:      "rollback started",
			progress:  []fakeProgress{{status: updateStatus(swarm.UpdateStateRollbackStarted, later, "update rolled back due to failure or early termination of task x2")}},
			wantPolls: 1,
			wantErr:   "update rollback_started: update rolled back due to failure or early termination of task x2",
		},
		{
			name:      "rollback paused",
			progress:  []fakeProgress{{status: updateStatus(swarm.UpdateStateRollbackPaused, later, "rollback paused due to failure")}},
			wantPolls: 1,
			wantErr:   "update rollback_paused: rollback paused due to failure",
		},
		{
			name:      "rolled back",
			progress:  []fakeProgress{{status: updateStatus(swarm.UpdateStateRollbackCompleted, later, "rollback completed")}},
			wantPolls: 1,
			wantErr:   "update rollback_completed: rollback completed",
		},
		{
			name:   "the previous update's completed status is not this one's",
			before: stale,
			progress: []fakeProgress{
				{status: stale, tasks: append(tasks(1, svcForce, swarm.TaskStateRunning), task(want, swarm.TaskStateRunning))},
				{status: updateStatus(swarm.UpdateStateUpdating, later, "update in progress")},
				{status: updateStatus(swarm.UpdateStateCompleted, later, "update completed")},
			},
			wantPolls: 3,
		},
		{
			name:   "no status of this update: new tasks starting, then all running",
			before: stale,
			progress: []fakeProgress{
				{status: stale, tasks: tasks(2, svcForce, swarm.TaskStateRunning)},
				{status: stale, tasks: []swarm.Task{task(want, swarm.TaskStateRunning), task(want, swarm.TaskStateStarting)}},
				{status: stale, tasks: tasks(2, want, swarm.TaskStateRunning)},
			},
			wantPolls: 3,
		},
		{
			name: "no status: fewer new tasks than replicas",
			progress: []fakeProgress{
				{tasks: tasks(1, want, swarm.TaskStateRunning)},
				{tasks: tasks(2, want, swarm.TaskStateRunning)},
			},
			wantPolls: 2,
		},
		{
			name:      "no status: replicas unset means one",
			mode:      one,
			progress:  []fakeProgress{{}, {tasks: tasks(1, want, swarm.TaskStateRunning)}},
			wantPolls: 2,
		},
		{
			name: "no status: global service when every task is new and running",
			mode: global,
			progress: []fakeProgress{
				{tasks: []swarm.Task{task(want, swarm.TaskStateRunning), task(svcForce, swarm.TaskStateRunning)}},
				{tasks: tasks(3, want, swarm.TaskStateRunning)},
			},
			wantPolls: 2,
		},
		{
			name:      "jobs are not waited for",
			mode:      job,
			progress:  []fakeProgress{{status: updateStatus(swarm.UpdateStateUpdating, later, "")}},
			wantPolls: 0,
		},
		{
			name:      "inspection fails while waiting",
			progress:  []fakeProgress{{inspectErr: errors.New("Cannot connect to the Docker daemon")}},
			wantPolls: 1,
			wantErr:   "docker: force-update: service web: Cannot connect to the Docker daemon",
		},
		{
			name:      "service removed while waiting",
			progress:  []fakeProgress{{inspectErr: notFound("service", svcID)}},
			wantPolls: 1,
			wantIs:    ErrNotFound,
		},
		{
			name:      "task list fails",
			progress:  []fakeProgress{{tasksErr: errors.New("rpc error: no leader")}},
			wantPolls: 1,
			wantErr:   "docker: force-update: service web: list tasks: rpc error: no leader",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeEngine{svc: fakeService{service: testService(tt.mode, tt.before), progress: tt.progress}}
				c := newFakeClient(t, f, "")
				start := time.Now()
				err := c.ForceUpdate(t.Context(), svcName, time.Minute)
				took := time.Since(start)
				switch {
				case tt.wantErr == "" && tt.wantIs == nil:
					if err != nil {
						t.Fatalf("ForceUpdate: %v", err)
					}
				case tt.wantIs != nil && !errors.Is(err, tt.wantIs):
					t.Fatalf("ForceUpdate = %v, want an error wrapping %v", err, tt.wantIs)
				case !strings.Contains(errString(err), tt.wantErr):
					t.Fatalf("ForceUpdate = %v, want an error containing %q", err, tt.wantErr)
				}
				checkForceUpdateSent(t, f, svcVersion)
				calls := f.methods()
				// The first inspection is by name, before the update; the
				// wait inspects by ID.
				if calls[0] != "ServiceInspect "+svcName {
					t.Errorf("first call = %q, want ServiceInspect %s", calls[0], svcName)
				}
				if got := count(calls, "ServiceInspect "+svcID); got != tt.wantPolls {
					t.Errorf("inspections while waiting = %d, want %d; calls %q", got, tt.wantPolls, calls)
				}
				if want := time.Duration(max(tt.wantPolls-1, 0)) * convergePoll; took != want {
					t.Errorf("ForceUpdate took %v, want %v (%d polls)", took, want, tt.wantPolls)
				}
				for _, o := range f.svc.taskOpts {
					if !o.Filters["service"][svcID] || !o.Filters["desired-state"][string(swarm.TaskStateRunning)] || len(o.Filters) != 2 {
						t.Errorf("TaskList filters = %v, want service=%s and desired-state=running", o.Filters, svcID)
					}
				}
			})
		})
	}
}

// errString is err's message, "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestForceUpdateVersionRace(t *testing.T) {
	completed := []fakeProgress{{status: updateStatus(swarm.UpdateStateCompleted, svcStarted.Add(time.Hour), "")}}
	tests := []struct {
		name      string
		service   *swarm.Service
		racing    int
		updateErr error
		// wantUpdates is the version index of each update sent.
		wantUpdates []uint64
		wantErr     string
		wantIs      error
	}{
		{name: "no race", service: testService(nil, nil), wantUpdates: []uint64{41}},
		{name: "beaten once", service: testService(nil, nil), racing: 1, wantUpdates: []uint64{41, 42}},
		{name: "beaten four times", service: testService(nil, nil), racing: 4, wantUpdates: []uint64{41, 42, 43, 44, 45}},
		{
			name: "beaten five times", service: testService(nil, nil), racing: 5,
			wantUpdates: []uint64{41, 42, 43, 44, 45},
			wantErr:     "docker: force-update: service web: rpc error: code = Unknown desc = update out of sequence",
		},
		{
			name: "other errors are not retried", service: testService(nil, nil),
			updateErr:   errors.New("This node is not a swarm manager."),
			wantUpdates: []uint64{41},
			wantErr:     "docker: force-update: service web: This node is not a swarm manager.",
		},
		{name: "no such service", wantIs: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeEngine{svc: fakeService{service: tt.service, racing: tt.racing, updateErr: tt.updateErr, progress: completed}}
				err := newFakeClient(t, f, "").ForceUpdate(t.Context(), svcName, time.Minute)
				switch {
				case tt.wantIs != nil:
					if !errors.Is(err, tt.wantIs) {
						t.Fatalf("ForceUpdate = %v, want an error wrapping %v", err, tt.wantIs)
					}
				case tt.wantErr == "":
					if err != nil {
						t.Fatalf("ForceUpdate: %v", err)
					}
				case err == nil || err.Error() != tt.wantErr:
					t.Fatalf("ForceUpdate = %v, want %q", err, tt.wantErr)
				}
				var got []uint64
				for _, u := range f.svc.updates {
					got = append(got, u.Version.Index)
					if u.Spec.TaskTemplate.ForceUpdate != svcForce+1 {
						t.Errorf("update at version %d sent ForceUpdate %d, want %d", u.Version.Index, u.Spec.TaskTemplate.ForceUpdate, svcForce+1)
					}
				}
				if !reflect.DeepEqual(got, tt.wantUpdates) {
					t.Errorf("updates sent with versions %v, want %v", got, tt.wantUpdates)
				}
				calls := f.methods()
				if n := count(calls, "ServiceInspect "+svcName); n != max(len(tt.wantUpdates), 1) {
					t.Errorf("%d inspections before updating, want one per update; calls %q", n, calls)
				}
				if tt.wantErr != "" && count(calls, "ServiceInspect "+svcID) != 0 {
					t.Errorf("waited after a failed update: calls %q", calls)
				}
			})
		})
	}
}

func TestForceUpdateWaitEnds(t *testing.T) {
	updating := []fakeProgress{{status: updateStatus(swarm.UpdateStateUpdating, svcStarted.Add(time.Hour), "update in progress")}}
	oldTasks := []fakeProgress{{tasks: tasks(2, svcForce, swarm.TaskStateRunning)}}
	tests := []struct {
		name     string
		progress []fakeProgress
		// timeout is ForceUpdate's; parent bounds the caller's context
		// and cancel cancels it after that long (0: neither).
		timeout, parent, cancel time.Duration
		wantTook                time.Duration
		wantErr                 string
		wantIs                  error
	}{
		{
			name: "timeout while updating", progress: updating, timeout: time.Minute,
			wantTook: time.Minute, wantIs: context.DeadlineExceeded,
			wantErr: "docker: force-update: service web: not converged after 1m0s (update updating): context deadline exceeded",
		},
		{
			name: "timeout while old tasks run", progress: oldTasks, timeout: 5 * time.Minute,
			wantTook: 5 * time.Minute, wantIs: context.DeadlineExceeded,
			wantErr: "not converged after 5m0s (old tasks still running)",
		},
		{
			name: "caller's deadline is earlier", progress: updating, timeout: time.Minute, parent: 10 * time.Second,
			wantTook: 10 * time.Second, wantIs: context.DeadlineExceeded,
			wantErr: "not converged after 10s (update updating)",
		},
		{
			name: "no timeout: only the caller's context", progress: updating, parent: 20 * time.Minute,
			wantTook: 20 * time.Minute, wantIs: context.DeadlineExceeded,
		},
		{
			name: "caller cancels", progress: updating, timeout: time.Minute, cancel: 2100 * time.Millisecond,
			wantTook: 2100 * time.Millisecond, wantIs: context.Canceled,
			wantErr: "not converged after 2.1s (update updating): context canceled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeEngine{svc: fakeService{service: testService(nil, nil), progress: tt.progress}}
				c := newFakeClient(t, f, "")
				ctx := t.Context()
				if tt.parent > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.parent)
					defer cancel()
				}
				if tt.cancel > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					defer time.AfterFunc(tt.cancel, cancel).Stop()
				}
				start := time.Now()
				err := c.ForceUpdate(ctx, svcName, tt.timeout)
				if took := time.Since(start); took != tt.wantTook {
					t.Errorf("ForceUpdate returned after %v, want %v", took, tt.wantTook)
				}
				if !errors.Is(err, tt.wantIs) || !strings.Contains(errString(err), tt.wantErr) {
					t.Fatalf("ForceUpdate = %v, want an error wrapping %v containing %q", err, tt.wantIs, tt.wantErr)
				}
				if to, _ := f.timeoutOf("ServiceInspect"); tt.timeout > 0 && tt.parent == 0 && to != tt.timeout {
					t.Errorf("calls had %v left, want the converge timeout %v", to, tt.timeout)
				}
				checkForceUpdateSent(t, f, svcVersion)
			})
		})
	}
}

// TestForceUpdateEmptyName checks that an empty name reaches no daemon.
func TestForceUpdateEmptyName(t *testing.T) {
	f := &fakeEngine{}
	err := newFakeClient(t, f, "").ForceUpdate(t.Context(), " ", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "empty service name") {
		t.Errorf("ForceUpdate(\" \") = %v, want an empty-name error", err)
	}
	if calls := f.methods(); len(calls) != 0 {
		t.Errorf("calls = %q, want none", calls)
	}
}

// TestForceUpdateCancelledMidCheck checks the wait when the caller gives up
// during a request: the error is the context's, with the last state seen.
func TestForceUpdateCancelledMidCheck(t *testing.T) {
	updating := fakeProgress{status: updateStatus(swarm.UpdateStateUpdating, svcStarted.Add(time.Hour), "update in progress")}
	oldTasks := fakeProgress{tasks: tasks(2, svcForce, swarm.TaskStateRunning)}
	tests := []struct {
		name     string
		progress []fakeProgress
		wantErr  string
	}{
		{
			name:     "during an inspection",
			progress: []fakeProgress{updating, {cancelInspect: true}},
			wantErr:  "docker: force-update: service web: not converged after 250ms (update updating): context canceled",
		},
		{
			name:     "during a task listing",
			progress: []fakeProgress{oldTasks, {tasks: oldTasks.tasks, cancelTasks: true}},
			wantErr:  "docker: force-update: service web: not converged after 250ms (old tasks still running): context canceled",
		},
		{
			name:     "before anything was seen",
			progress: []fakeProgress{{cancelTasks: true}},
			wantErr:  "docker: force-update: service web: not converged after 0s (no progress seen): context canceled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				f := &fakeEngine{svc: fakeService{service: testService(nil, nil), progress: tt.progress}, cancel: cancel}
				err := newFakeClient(t, f, "").ForceUpdate(ctx, svcName, time.Minute)
				if !errors.Is(err, context.Canceled) || err.Error() != tt.wantErr {
					t.Fatalf("ForceUpdate = %v, want %q", err, tt.wantErr)
				}
			})
		})
	}
}
