package clusterstate_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/certdock/certdock/clusterstate"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/internal/testenv"
)

// member is one contender of the test: an Elector talking to one manager.
type member struct {
	node *testenv.SwarmNode
	e    *clusterstate.Elector
}

// TestSwarmLeaseFailover: on a real swarm of 3 managers, contenders on
// two of them elect one active certdock through the lease config; never
// two act at once; when the holder's dockerd is killed, or its manager is
// cut off from the others, it stops acting and the other takes over
// within 30 s.
func TestSwarmLeaseFailover(t *testing.T) {
	s := testenv.StartSwarm(t, testenv.SwarmOptions{Managers: 3, Heartbeat: 2 * time.Second})
	ms := s.Managers()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	var members []*member
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, n := range ms[:2] {
		dc, err := docker.New(docker.Options{Host: n.DockerHost()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dc.Close() })
		e := clusterstate.NewElector(clusterstate.NewSwarmLease(dc, "", 0), clusterstate.ElectorOptions{ID: n.Name, Logger: log.With("member", n.Name)})
		members = append(members, &member{node: n, e: e})
		wg.Add(1)
		go func() { defer wg.Done(); e.Run(ctx) }()
	}

	// Sample who acts every 50 ms for the whole test.
	var mu sync.Mutex
	twice := 0
	began := map[string]time.Time{}
	ceased := map[string]time.Time{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		acting := map[string]bool{}
		for ctx.Err() == nil {
			n := 0
			mu.Lock()
			for _, m := range members {
				_, ok := m.e.Acting()
				if ok {
					n++
				}
				if ok && !acting[m.node.Name] {
					began[m.node.Name] = time.Now()
				}
				if !ok && acting[m.node.Name] {
					ceased[m.node.Name] = time.Now()
				}
				acting[m.node.Name] = ok
			}
			if n > 1 {
				twice++
			}
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	holder := func() *member {
		for _, m := range members {
			if _, ok := m.e.Acting(); ok {
				return m
			}
		}
		return nil
	}
	waitHolder := func(not *member, timeout time.Duration) *member {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for time.Now().Before(deadline) {
			if h := holder(); h != nil && h != not {
				return h
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no certdock took the lease within %v", timeout)
		return nil
	}

	first := waitHolder(nil, 30*time.Second)
	t.Logf("%s holds the lease", first.node.Name)
	time.Sleep(20 * time.Second) // renewals; the other waits
	if h := holder(); h != first {
		t.Fatalf("the lease moved without a failure")
	}

	// The holder's daemon dies.
	killed := time.Now()
	s.Kill(t, first.node)
	second := waitHolder(first, 45*time.Second)
	takeover := time.Since(killed)
	// The sampler notices the change within a sample or two.
	var stopped, started time.Time
	for range 40 {
		mu.Lock()
		stopped, started = ceased[first.node.Name], began[second.node.Name]
		mu.Unlock()
		if !started.IsZero() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("dockerd of %s killed: it stopped acting after %v, %s took over after %v",
		first.node.Name, stopped.Sub(killed).Round(time.Millisecond), second.node.Name, takeover.Round(time.Millisecond))
	if takeover > 30*time.Second {
		t.Errorf("takeover took %v, want ≤ 30s", takeover)
	}
	if stopped.IsZero() || stopped.After(started) {
		t.Errorf("%s stopped acting at %v, after %s began at %v", first.node.Name, stopped, second.node.Name, started)
	}

	// Bring it back: it sees the other's lease and stays passive.
	s.Restart(t, first.node)
	s.WaitNodeState(t, first.node, "ready")
	time.Sleep(10 * time.Second)
	if h := holder(); h != second {
		t.Fatalf("after %s came back the holder is %v", first.node.Name, h)
	}

	// The holder's manager is cut off from the two others (a minority):
	// its writes cannot commit, it stops acting, the other takes over.
	cut := time.Now()
	s.Cut(t, second.node)
	third := waitHolder(second, 45*time.Second)
	t.Logf("%s cut off: %s took over after %v", second.node.Name, third.node.Name, time.Since(cut).Round(time.Millisecond))
	if time.Since(cut) > 30*time.Second {
		t.Errorf("takeover after a partition took %v, want ≤ 30s", time.Since(cut))
	}
	if _, ok := second.e.Acting(); ok {
		t.Errorf("%s still acts while cut off", second.node.Name)
	}
	s.Heal(t, second.node)

	mu.Lock()
	defer mu.Unlock()
	if twice > 0 {
		t.Fatalf("two certdocks acted at once in %d samples", twice)
	}
}
