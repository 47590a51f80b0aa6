package controller

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/certdock/certdock/cert"
)

// recDeliverer records the deliveries it is given and answers with err
// for the services in fail.
type recDeliverer struct {
	mu    sync.Mutex
	calls [][]Delivery
	fail  map[string]error
}

func (d *recDeliverer) Deliver(_ context.Context, wants []Delivery) []Delivered {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, wants)
	var out []Delivered
	for _, w := range wants {
		r := Delivered{Name: w.Spec.Name, Service: w.To.Service, Version: w.Lineage.Version, Changed: true}
		if err := d.fail[w.To.Service]; err != nil {
			r.Version, r.Changed, r.Err = 0, false, err
		}
		out = append(out, r)
	}
	return out
}

func (d *recDeliverer) callCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.calls)
}

func deliveringSpec(name string, services ...string) cert.Spec {
	s := cert.Spec{Name: name, Domains: []string{name}}
	for _, svc := range services {
		s.Deliveries = append(s.Deliveries, cert.Delivery{Kind: cert.DeliverSecrets, Service: svc})
	}
	return s
}

func TestDeliveriesRecordedAndNotifiedOnce(t *testing.T) {
	ctx := context.Background()
	mem, n, obs := NewMemory(), &recNotifier{}, &recObserver{ready: map[string]bool{}}
	del := &recDeliverer{fail: map[string]error{"api": errors.New("update rollback_completed: task failed")}}
	specs := []cert.Spec{deliveringSpec("a.example.com", "web", "api"), {Name: "b.example.com", Domains: []string{"b.example.com"}}}
	src := SourceFunc(func(context.Context) ([]cert.Spec, []error) { return specs, nil })
	c := New(&memStore{}, &fakeIssuer{}, []Source{src}, nil, Options{Memory: mem, Notifier: n, Observer: obs, Deliverer: del})

	c.RunOnce(ctx)
	if del.callCount() != 1 {
		t.Fatalf("Deliver called %d times in one run, want 1", del.callCount())
	}
	got := del.calls[0]
	if len(got) != 2 || got[0].Lineage == nil || got[0].Lineage.Version != 1 {
		t.Fatalf("deliveries %+v: want both services with version 1 (issued in this run)", got)
	}
	r, _ := mem.Get("a.example.com")
	want := []DeliveryRecord{{Service: "api", Version: 0, Error: "update rollback_completed: task failed"}, {Service: "web", Version: 1}}
	if len(r.Deliveries) != 2 {
		t.Fatalf("records %+v", r.Deliveries)
	}
	for i := range want {
		g := r.Deliveries[i]
		if g.Service != want[i].Service || g.Version != want[i].Version || g.Error != want[i].Error || g.Since.IsZero() {
			t.Errorf("record %d = %+v, want %+v", i, g, want[i])
		}
	}
	if n.calls.Load() != 1 {
		t.Fatalf("failure hook ran %d times, want once", n.calls.Load())
	}
	since := r.Deliveries[0].Since
	c.RunOnce(ctx) // still failing: no second notification, Since kept
	if n.calls.Load() != 1 {
		t.Fatalf("failure hook ran %d times for one streak", n.calls.Load())
	}
	if r, _ := mem.Get("a.example.com"); !r.Deliveries[0].Since.Equal(since) {
		t.Errorf("Since moved while the state stayed: %v → %v", since, r.Deliveries[0].Since)
	}
	obs.mu.Lock()
	if len(obs.delivered) != 4 {
		t.Errorf("observer told %d deliveries, want 4 (2 per run)", len(obs.delivered))
	}
	obs.mu.Unlock()

	// Fixed: the record clears; the next failure notifies again.
	del.fail = nil
	c.RunOnce(ctx)
	if r, _ := mem.Get("a.example.com"); r.Deliveries[0].Error != "" || r.Deliveries[0].Version != 1 {
		t.Fatalf("after the fix: %+v", r.Deliveries)
	}
	del.fail = map[string]error{"api": errors.New("paused")}
	c.RunOnce(ctx)
	if n.calls.Load() != 2 {
		t.Fatalf("a new streak notified %d times in all, want 2", n.calls.Load())
	}

	// The deliveries leave the labels: one more call (for cleanup), then
	// none; the records forget them.
	specs = []cert.Spec{{Name: "a.example.com", Domains: []string{"a.example.com"}}}
	calls := del.callCount()
	c.RunOnce(ctx)
	c.RunOnce(ctx)
	if del.callCount() != calls+1 || len(del.calls[calls]) != 0 {
		t.Fatalf("after the last delivery left: %d calls (want 1, with no delivery)", del.callCount()-calls)
	}
	if r, _ := mem.Get("a.example.com"); len(r.Deliveries) != 0 {
		t.Fatalf("records kept after the deliveries left: %+v", r.Deliveries)
	}
}

func TestDeliveryWaitsForFirstVersion(t *testing.T) {
	mem := NewMemory()
	del := &recDeliverer{}
	iss := &fakeIssuer{failFor: map[string]error{"a.example.com": errors.New("down")}}
	src := SourceFunc(func(context.Context) ([]cert.Spec, []error) {
		return []cert.Spec{deliveringSpec("a.example.com", "web")}, nil
	})
	n := &recNotifier{}
	c := New(&memStore{}, iss, []Source{src}, nil, Options{Memory: mem, Deliverer: del, Notifier: n})
	c.RunOnce(context.Background())
	if del.callCount() != 0 {
		t.Fatal("Deliver called without any certificate to deliver")
	}
	r, _ := mem.Get("a.example.com")
	if len(r.Deliveries) != 1 || r.Deliveries[0].Error != errNoVersion.Error() {
		t.Fatalf("records %+v: want one waiting for the first version", r.Deliveries)
	}
	if n.calls.Load() != 1 { // the issuance failure only
		t.Fatalf("notifier ran %d times, want once (issuance only)", n.calls.Load())
	}
	// Issued now, but its first delivery fails: that is a new failure,
	// notified, even though the record was "waiting" before.
	iss.mu.Lock()
	iss.failFor = nil
	iss.mu.Unlock()
	del.fail = map[string]error{"web": errors.New("update paused")}
	c.Renew(context.Background(), []string{"a.example.com"}, false)
	if n.calls.Load() != 2 {
		t.Fatalf("notifier ran %d times, want 2 (issuance, then delivery)", n.calls.Load())
	}
}

func TestDaemonDeliversAfterEveryPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		del := &recDeliverer{}
		src := SourceFunc(func(context.Context) ([]cert.Spec, []error) {
			return []cert.Spec{deliveringSpec("a.example.com", "web")}, nil
		})
		c := New(&memStore{}, &fakeIssuer{}, []Source{src}, nil, Options{Deliverer: del, Quiet: 10 * time.Millisecond, MinInterval: 10 * time.Millisecond})
		stop := runDaemon(t, c)
		defer stop()
		waitFor(t, func() bool { return del.callCount() >= 1 })
		synctest.Wait()
		before := del.callCount()
		// A pass with nothing to issue (e.g. a service event: a stack
		// re-deployed without the secrets) still checks the deliveries.
		c.Trigger()
		waitFor(t, func() bool { return del.callCount() > before })
		del.mu.Lock()
		last := del.calls[len(del.calls)-1]
		del.mu.Unlock()
		if len(last) != 1 || last[0].To.Service != "web" || !slices.Contains([]int{1}, last[0].Lineage.Version) {
			t.Fatalf("last call %+v", last)
		}
	})
}
