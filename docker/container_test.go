package docker

import (
	"errors"
	"github.com/certdock/certdock/internal/testenv"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/certdock/certdock/cert"
)

func TestSnapshot(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t)
	c := e.client(t, "")

	labelled := e.run(t, e.selectedLabels(), "httpd", "-f", "-p", "8080")
	plain := e.sleeper(t, nil)
	other := e.sleeper(t, map[string]string{e.prefix + "x.domains": "not.example.com"}) // prefix without the dot
	created := e.create(t, map[string]string{e.prefix + ".cert": "example.com"}, true, "true")

	ws, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	byID := map[string]Workload{}
	for _, w := range ws {
		byID[w.ID] = w
	}
	got, ok := byID[labelled.ID]
	if !ok {
		t.Fatalf("Snapshot lacks the labelled container %s: %+v", labelled.Name, ws)
	}
	want := Workload{Kind: KindContainer, ID: labelled.ID, Name: labelled.Name, Labels: e.selectedLabels(), State: "running"}
	if got.Kind != want.Kind || got.Name != want.Name || got.State != want.State || got.Service != "" || !maps.Equal(got.Labels, want.Labels) {
		t.Errorf("labelled container = %+v, want %+v", got, want)
	}
	if w, ok := byID[created.ID]; !ok || w.State != "created" {
		t.Errorf("created (not started) labelled container: %+v, present %t; want state created", w, ok)
	}
	for _, tc := range []testContainer{plain, other} {
		if _, ok := byID[tc.ID]; ok {
			t.Errorf("Snapshot returned container %s, which has no %s. label", tc.Name, e.prefix)
		}
	}
	if !slices.IsSortedFunc(ws, func(a, b Workload) int {
		if a.Kind != b.Kind {
			return strings.Compare(string(a.Kind), string(b.Kind))
		}
		return strings.Compare(a.Name, b.Name)
	}) {
		t.Errorf("Snapshot is not sorted by kind and name: %+v", ws)
	}
	// The labels belong to the caller.
	got.Labels["mutated"] = "1"
	ws2, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws2 {
		if w.ID == labelled.ID && w.Labels["mutated"] != "" {
			t.Error("a second Snapshot shares the label map of the first")
		}
	}
}

func TestWatchEvents(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t)
	c := e.client(t, "")
	rec := newRecorder()
	watch(t, c, rec)
	rec.waitConnected(t, 10*time.Second)
	if !c.Healthy() {
		t.Error("Healthy() = false after Connected")
	}

	plain := e.sleeper(t, nil)
	labelled := e.sleeper(t, e.selectedLabels())
	started := time.Now()
	ev, skipped := rec.waitEvent(t, 5*time.Second, func(ev Event) bool {
		return ev.ID == labelled.ID && ev.Action == "start"
	})
	took := time.Since(started)
	t.Logf("start event %+v after %v", ev, took)
	if took > time.Second {
		t.Errorf("start event arrived %v after the container started, want < 1 s", took)
	}
	if ev.Kind != KindContainer || ev.Name != labelled.Name {
		t.Errorf("event = %+v, want kind container, name %s", ev, labelled.Name)
	}
	// "create" came first; nothing about the unlabelled container.
	sawCreate := false
	for _, s := range skipped {
		if s.ID == plain.ID {
			t.Errorf("event for an unlabelled container: %+v", s)
		}
		if s.ID == labelled.ID && s.Action == "create" {
			sawCreate = true
		}
	}
	if !sawCreate {
		t.Errorf("no create event before start; saw %+v", skipped)
	}

	// Destroy events still carry the labels.
	if _, err := e.api.ContainerRemove(t.Context(), labelled.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	rec.waitEvent(t, 5*time.Second, func(ev Event) bool { return ev.ID == labelled.ID && ev.Action == "destroy" })

	if n := len(rec.connected); n != 0 {
		t.Errorf("Connected called %d more times on a healthy connection", n)
	}
}

func TestWatchReconnect(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t)
	p := testenv.StartUnixProxy(t, testenv.DockerSocket())
	c := e.client(t, "unix://"+p.Addr)
	rec := newRecorder()
	watch(t, c, rec)
	rec.waitConnected(t, 10*time.Second)

	first := e.sleeper(t, e.selectedLabels())
	rec.waitEvent(t, 5*time.Second, func(ev Event) bool { return ev.ID == first.ID && ev.Action == "start" })

	const outage = time.Second
	cut := time.Now()
	p.Cut()
	if !eventually(2*time.Second, func() bool { return !c.Healthy() }) {
		t.Fatal("Healthy() still true 2 s after the connection was cut")
	}
	t.Logf("unhealthy %v after the cut", time.Since(cut))
	if _, err := c.Snapshot(t.Context()); err == nil {
		t.Error("Snapshot through a refusing proxy succeeded")
	}
	time.Sleep(outage)
	if n := len(rec.connected); n != 0 {
		t.Fatalf("Connected called %d times while the proxy refused connections", n)
	}
	if c.Healthy() {
		t.Fatal("Healthy() = true while the proxy refuses connections")
	}
	p.Restore()
	resumed := time.Now()
	rec.waitConnected(t, 10*time.Second)
	t.Logf("reconnected %v after the proxy resumed (%v after the cut)", time.Since(resumed), time.Since(cut))
	if !c.Healthy() {
		t.Error("Healthy() = false after reconnecting")
	}

	second := e.sleeper(t, e.selectedLabels())
	rec.waitEvent(t, 5*time.Second, func(ev Event) bool { return ev.ID == second.ID && ev.Action == "start" })
	if _, err := c.Snapshot(t.Context()); err != nil {
		t.Errorf("Snapshot after reconnecting: %v", err)
	}
}

func TestExec(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t)
	c := e.client(t, "")
	ctr := e.sleeper(t, nil)
	ctx := t.Context()

	t.Run("exit code and output", func(t *testing.T) {
		res, err := c.Exec(ctx, ctr.Name, []string{"sh", "-c", "echo hello; echo oops >&2; exit 3"}, 10*time.Second)
		t.Logf("exec took %v: %v", res.Duration, err)
		if err == nil {
			t.Fatal("exit 3 gave no error")
		}
		if res.ExitCode != 3 {
			t.Errorf("ExitCode = %d, want 3", res.ExitCode)
		}
		if !strings.Contains(res.OutputTail, "hello\n") || !strings.Contains(res.OutputTail, "oops\n") {
			t.Errorf("OutputTail = %q, want stdout and stderr", res.OutputTail)
		}
		for _, s := range []string{ctr.Name, "exec sh:", "code 3", "hello"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not mention %q", err, s)
			}
		}
	})

	t.Run("success writes a file", func(t *testing.T) {
		res, err := c.Exec(ctx, ctr.Name, []string{"sh", "-c", "echo written > /tmp/marker"}, 10*time.Second)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("Exec = %+v, %v", res, err)
		}
		t.Logf("exec took %v", res.Duration)
		res, err = c.Exec(ctx, ctr.ID, []string{"cat", "/tmp/marker"}, 10*time.Second)
		if err != nil || res.OutputTail != "written\n" {
			t.Fatalf("cat = %+v, %v; want output %q", res, err, "written\n")
		}
	})

	t.Run("no shell", func(t *testing.T) {
		// Shell syntax in argv is passed as is: echo prints it.
		res, err := c.Exec(ctx, ctr.Name, []string{"echo", "$HOME;", "exit", "3"}, 10*time.Second)
		if err != nil || res.OutputTail != "$HOME; exit 3\n" {
			t.Fatalf("Exec = %+v, %v; want the arguments echoed verbatim", res, err)
		}
	})

	t.Run("long output keeps the tail", func(t *testing.T) {
		res, err := c.Exec(ctx, ctr.Name, []string{"sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done"}, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.OutputTail) > outputTailSize || !strings.HasSuffix(res.OutputTail, "line1998\nline1999\n") || strings.Contains(res.OutputTail, "line0\n") {
			t.Errorf("OutputTail has %d bytes, ends %q", len(res.OutputTail), res.OutputTail[max(0, len(res.OutputTail)-40):])
		}
	})

	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		res, err := c.Exec(ctx, ctr.Name, []string{"sleep", "10"}, time.Second)
		took := time.Since(start)
		t.Logf("timeout after %v: %v", took, err)
		if err == nil || !strings.Contains(err.Error(), "timed out") {
			t.Errorf("Exec(sleep 10) with 1 s timeout = %+v, %v; want a timeout error", res, err)
		}
		if took > 3*time.Second {
			t.Errorf("timeout took %v", took)
		}
	})

	t.Run("missing command", func(t *testing.T) {
		res, err := c.Exec(ctx, ctr.Name, []string{"no-such-command"}, 10*time.Second)
		t.Logf("missing command: %+v, %v", res, err)
		if err == nil {
			t.Fatal("a missing command gave no error")
		}
	})

	t.Run("missing container", func(t *testing.T) {
		_, err := c.Exec(ctx, "certdock-test-no-such-container", []string{"true"}, 10*time.Second)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Exec in a missing container: %v, want ErrNotFound", err)
		}
		t.Log(err)
	})

	t.Run("stopped container", func(t *testing.T) {
		stopped := e.create(t, nil, true, "sleep", "3600")
		_, err := c.Exec(ctx, stopped.Name, []string{"true"}, 10*time.Second)
		if !errors.Is(err, ErrNotRunning) {
			t.Fatalf("Exec in a stopped container: %v, want ErrNotRunning", err)
		}
		t.Log(err)
	})
}

func TestSignal(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t)
	c := e.client(t, "")
	ctx := t.Context()
	// sh runs traps between commands: short sleeps.
	ctr := e.run(t, nil, "sh", "-c", `trap 'echo got >> /tmp/hup' HUP; while true; do sleep 0.2; done`)
	hups := func() int {
		res, err := c.Exec(ctx, ctr.Name, []string{"sh", "-c", "cat /tmp/hup 2>/dev/null; true"}, 5*time.Second)
		if err != nil {
			t.Fatalf("reading the marker: %v", err)
		}
		return strings.Count(res.OutputTail, "got")
	}
	// Let the trap be installed.
	time.Sleep(300 * time.Millisecond)

	for i, sig := range []string{"SIGHUP", "hup", "1"} {
		if err := c.Signal(ctx, ctr.Name, sig); err != nil {
			t.Fatalf("Signal(%s): %v", sig, err)
		}
		if !eventually(3*time.Second, func() bool { return hups() == i+1 }) {
			t.Fatalf("after Signal(%s), the marker has %d lines, want %d", sig, hups(), i+1)
		}
	}

	if err := c.Signal(ctx, ctr.Name, "SIGFOO"); err == nil || !strings.Contains(err.Error(), "unknown signal") {
		t.Errorf("Signal(SIGFOO) = %v, want unknown signal", err)
	}
	if _, err := cert.ParseSignal("SIGFOO"); err == nil {
		t.Error("ParseSignal(SIGFOO) accepted it")
	}
	if err := c.Signal(ctx, "certdock-test-no-such-container", "HUP"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Signal to a missing container: %v, want ErrNotFound", err)
	}
	stopped := e.create(t, nil, true, "sleep", "3600")
	if err := c.Signal(ctx, stopped.Name, "HUP"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Signal to a stopped container: %v, want ErrNotRunning", err)
	}
}

func TestRestart(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t)
	c := e.client(t, "")
	ctx := t.Context()
	ctr := e.sleeper(t, nil)

	startedAt := func(id string) (string, bool) {
		ins, err := e.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return ins.Container.State.StartedAt, ins.Container.State.Running
	}
	before, _ := startedAt(ctr.ID)
	start := time.Now()
	if err := c.Restart(ctx, ctr.Name, 2*time.Second); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	t.Logf("restart took %v", time.Since(start))
	after, running := startedAt(ctr.ID)
	if after == before || !running {
		t.Errorf("after Restart: StartedAt %s (before %s), running %t", after, before, running)
	}

	if err := c.Restart(ctx, "certdock-test-no-such-container", time.Second); !errors.Is(err, ErrNotFound) {
		t.Errorf("Restart of a missing container: %v, want ErrNotFound", err)
	} else {
		t.Log(err)
	}

	stopped := e.create(t, nil, true, "sleep", "3600")
	if err := c.Restart(ctx, stopped.Name, time.Second); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Restart of a stopped container: %v, want ErrNotRunning", err)
	}
	if _, running := startedAt(stopped.ID); running {
		t.Error("Restart started a stopped container")
	}
}

func TestAct(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t)
	c := e.client(t, "")
	ctx := t.Context()
	web := e.run(t, nil, "sh", "-c", `trap 'echo got >> /tmp/hup' HUP; while true; do sleep 0.2; done`)
	stopped := e.create(t, nil, true, "sleep", "3600")
	other := e.sleeper(t, nil)
	ins, err := e.api.ContainerInspect(ctx, other.ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)

	errs := c.Act(ctx, []cert.Action{
		{Kind: cert.Signal, Target: web.Name, Signal: "SIGHUP"},
		{Kind: cert.Exec, Target: web.Name, Command: []string{"sh", "-c", "echo reloaded > /tmp/exec"}},
		{Kind: cert.Restart, Target: stopped.Name},
		{Kind: cert.Exec, Target: stopped.Name, Command: []string{"true"}},
		{Kind: cert.Restart, Target: "certdock-test-no-such-container"},
		{Kind: cert.Restart, Target: "certdock-test-no-such-service", Service: true},
		{Kind: cert.Exec, Target: web.Name, Command: []string{"false"}},
		{Kind: cert.Restart, Target: other.Name},
	})
	if len(errs) != 3 {
		t.Fatalf("Act returned %d errors, want 3 (missing container, missing or unreachable service, false): %v", len(errs), errs)
	}
	if !errors.Is(errs[0], ErrNotFound) || !strings.Contains(errs[0].Error(), "no-such-container") {
		t.Errorf("errs[0] = %v, want ErrNotFound naming the container", errs[0])
	}
	// Without a swarm the daemon says "not a swarm manager", with one the
	// service is not found.
	if !strings.Contains(errs[1].Error(), "no-such-service") {
		t.Errorf("errs[1] = %v, want an error naming the service", errs[1])
	}
	if !strings.Contains(errs[2].Error(), "exec false: container "+web.Name+": exited with code 1") {
		t.Errorf("errs[2] = %v, want false's exit code", errs[2])
	}
	// The signal and the exec ran before the restart.
	res, err := c.Exec(ctx, web.Name, []string{"cat", "/tmp/hup", "/tmp/exec"}, 5*time.Second)
	if err != nil || res.OutputTail != "got\nreloaded\n" {
		t.Errorf("markers = %q, %v", res.OutputTail, err)
	}
	after, err := e.api.ContainerInspect(ctx, other.ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Container.State.StartedAt == ins.Container.State.StartedAt {
		t.Error("Act did not restart the running container")
	}
}
