package docker

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/internal/testenv"
)

// gwBridge is the network the daemon creates on swarm init and keeps after
// leaving.
const gwBridge = "docker_gwbridge"

// requireSwarmManager makes the daemon a single-node Swarm manager for the
// test: it inits a swarm when the node is in none, and leaves it (and removes
// docker_gwbridge if the init created it) in cleanup. A node that already
// manages a swarm is used as it is; the test skips on a worker or when init
// fails.
func requireSwarmManager(t *testing.T, e *dockerEnv) {
	t.Helper()
	testenv.LockSwarm(t)
	ctx := t.Context()
	info, err := e.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	switch sw := info.Info.Swarm; {
	case sw.LocalNodeState == swarm.LocalNodeStateActive && sw.ControlAvailable:
		t.Log("using the existing swarm (this node is a manager)")
		return
	case sw.LocalNodeState != swarm.LocalNodeStateInactive:
		t.Skipf("the node is in a swarm as %s but not a manager", sw.LocalNodeState)
	}
	hadGWBridge := networkExists(t, e, gwBridge)
	start := time.Now()
	if _, err := e.api.SwarmInit(ctx, client.SwarmInitOptions{ListenAddr: "127.0.0.1:2377", AdvertiseAddr: "127.0.0.1"}); err != nil {
		t.Skipf("docker swarm init failed: %v", err)
	}
	t.Logf("swarm init took %v", time.Since(start))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if _, err := e.api.SwarmLeave(ctx, client.SwarmLeaveOptions{Force: true}); err != nil {
			t.Errorf("cleanup: swarm leave: %v", err)
			return
		}
		if hadGWBridge {
			return
		}
		ok := eventually(10*time.Second, func() bool {
			_, err := e.api.NetworkRemove(ctx, gwBridge, client.NetworkRemoveOptions{})
			return err == nil || !networkExists(t, e, gwBridge)
		})
		if !ok {
			t.Errorf("cleanup: %s created by swarm init could not be removed", gwBridge)
		}
	})
}

func networkExists(t *testing.T, e *dockerEnv, name string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_, err := e.api.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
	return err == nil
}

// createService creates a replicated service of one task sleeping in the
// test image, with labels on the service and the test label on its task
// containers, and removes it in cleanup, waiting until its task containers
// are gone (ServiceRemove returns before). edit, if any, changes the spec
// before it is created.
func (e *dockerEnv) createService(t *testing.T, labels map[string]string, edit ...func(*swarm.ServiceSpec)) (id, name string) {
	t.Helper()
	name = "certdock-test-" + randomHex(6)
	one := uint64(1)
	init := true
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: labels},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{
			Image:   e.image,
			Command: []string{"sleep", "3600"},
			Labels:  map[string]string{testLabel: "1"},
			Init:    &init,
		}},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
	}
	for _, f := range edit {
		f(&spec)
	}
	res, err := e.api.ServiceCreate(t.Context(), client.ServiceCreateOptions{Spec: spec})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if _, err := e.api.ServiceRemove(ctx, res.ID, client.ServiceRemoveOptions{}); err != nil {
			t.Errorf("cleanup: remove service %s: %v", name, err)
		}
		f := client.Filters{}
		f.Add("label", swarmServiceLabel+"="+name)
		gone := eventually(cleanupTimeout, func() bool {
			l, err := e.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
			return err == nil && len(l.Items) == 0
		})
		if !gone {
			t.Errorf("cleanup: task containers of service %s still exist", name)
		}
	})
	return res.ID, name
}

// runningTask returns the ID and ForceUpdate of the service's task that
// Swarm wants running and that runs, waiting up to timeout for one.
func (e *dockerEnv) runningTask(t *testing.T, service string, timeout time.Duration) (string, uint64) {
	t.Helper()
	f := client.Filters{}
	f.Add("service", service)
	f.Add("desired-state", "running")
	var id string
	var force uint64
	ok := eventually(timeout, func() bool {
		l, err := e.api.TaskList(t.Context(), client.TaskListOptions{Filters: f})
		if err != nil {
			t.Fatalf("task list: %v", err)
		}
		for _, tk := range l.Items {
			if tk.Status.State == swarm.TaskStateRunning {
				id, force = tk.ID, tk.Spec.ForceUpdate
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("no running task of service %s within %v", service, timeout)
	}
	return id, force
}

func TestSwarmService(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t)
	requireSwarmManager(t, e)
	c := e.client(t, "")
	rec := newRecorder()
	watch(t, c, rec)
	rec.waitConnected(t, 10*time.Second)
	ctx := t.Context()

	labels := map[string]string{testLabel: "1", e.prefix + ".domains": "svc.example.com"}
	created := time.Now()
	id, name := e.createService(t, labels)
	ev, _ := rec.waitEvent(t, 5*time.Second, func(ev Event) bool { return ev.Kind == KindService && ev.ID == id && ev.Action == "create" })
	if ev.Name != name {
		t.Errorf("service create event = %+v, want name %s", ev, name)
	}
	task0, force0 := e.runningTask(t, id, 30*time.Second)
	t.Logf("first task running %v after create", time.Since(created))

	ws, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	var got *Workload
	for i, w := range ws {
		if w.ID == id {
			got = &ws[i]
		}
		if w.Kind == KindContainer && w.Service == name {
			t.Errorf("Snapshot returned the task container %s, whose own labels are not selected", w.Name)
		}
	}
	if got == nil {
		t.Fatalf("Snapshot lacks service %s: %+v", name, ws)
	}
	if got.Kind != KindService || got.Name != name || !maps.Equal(got.Labels, labels) {
		t.Errorf("service workload = %+v, want kind service, name %s, labels %v", *got, name, labels)
	}
	if ws[len(ws)-1].Kind != KindService {
		t.Errorf("services do not sort after containers: %+v", ws)
	}

	// The whole spec goes back unchanged but for ForceUpdate, although the
	// SDK's types are newer than the daemon's API.
	before, err := e.api.ServiceInspect(ctx, id, client.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Twice: the second update starts while the service still shows the
	// first one's "completed" status, which must not count as done.
	for i := 1; i <= 2; i++ {
		start := time.Now()
		if err := c.ForceUpdate(ctx, name, time.Minute); err != nil {
			t.Fatalf("ForceUpdate #%d: %v", i, err)
		}
		t.Logf("ForceUpdate #%d converged in %v", i, time.Since(start))
		ins, err := e.api.ServiceInspect(ctx, id, client.ServiceInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		svc := ins.Service
		if svc.Spec.TaskTemplate.ForceUpdate != force0+uint64(i) {
			t.Errorf("after ForceUpdate #%d: Spec.TaskTemplate.ForceUpdate = %d, want %d", i, svc.Spec.TaskTemplate.ForceUpdate, force0+uint64(i))
		}
		if us := svc.UpdateStatus; us == nil || us.State != swarm.UpdateStateCompleted {
			t.Errorf("after ForceUpdate #%d: UpdateStatus = %+v, want completed", i, us)
		} else {
			t.Logf("UpdateStatus: %s %q started %v completed %v", us.State, us.Message, us.StartedAt, us.CompletedAt)
		}
		wantSpec := before.Service.Spec
		wantSpec.TaskTemplate.ForceUpdate = svc.Spec.TaskTemplate.ForceUpdate
		if !reflect.DeepEqual(svc.Spec, wantSpec) {
			t.Errorf("after ForceUpdate #%d the spec changed:\n got %+v\nwant %+v", i, svc.Spec, wantSpec)
		}
		task, force := e.runningTask(t, id, time.Second)
		if task == task0 || force != force0+uint64(i) {
			t.Errorf("after ForceUpdate #%d the running task is %s (ForceUpdate %d), before %s", i, task, force, task0)
		}
		task0 = task
	}
	rec.waitEvent(t, 5*time.Second, func(ev Event) bool { return ev.Kind == KindService && ev.ID == id && ev.Action == "update" })

	// An update with a stale version is what ForceUpdate retries on.
	_, err = e.api.ServiceUpdate(ctx, id, client.ServiceUpdateOptions{Version: before.Service.Version, Spec: before.Service.Spec})
	if err == nil || !outOfSequence(err) {
		t.Errorf("update with a stale version: %v, want an out-of-sequence error", err)
	} else {
		t.Logf("stale version: %v", err)
	}

	if err := c.ForceUpdate(ctx, "certdock-test-no-such-service", time.Minute); !errors.Is(err, ErrNotFound) {
		t.Errorf("ForceUpdate of a missing service: %v, want ErrNotFound", err)
	} else {
		t.Log(err)
	}
	errs := c.Act(ctx, []cert.Action{{Kind: cert.Restart, Target: "certdock-test-no-such-service", Service: true}})
	if len(errs) != 1 || !errors.Is(errs[0], ErrNotFound) {
		t.Errorf("Act force-update of a missing service = %v, want one ErrNotFound", errs)
	}
}
