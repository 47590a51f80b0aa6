package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/certdock/certdock/cert"
)

func TestDecideMaintenanceWindowAndARI(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	spec := cert.Spec{Name: "example.com", Domains: []string{"example.com"}}
	lin := func(age, left time.Duration) *cert.Lineage {
		return &cert.Lineage{Name: "example.com", Domains: spec.Domains, NotBefore: now.Add(-age), NotAfter: now.Add(left), KeyType: cert.EC256}
	}
	tests := []struct {
		name             string
		cur              *cert.Lineage
		window           time.Time
		ariStart, ariEnd time.Time
		issue, urgent    bool
	}{
		{name: "due, no window: at once", cur: lin(65*day, 25*day), issue: true, urgent: true},
		{name: "due, window before the deadline: wait", cur: lin(65*day, 25*day), window: now.Add(10 * time.Hour), issue: true},
		{name: "due, window after the deadline: at once", cur: lin(80*day, 10*day), window: now.Add(12 * 24 * time.Hour), issue: true, urgent: true},
		{name: "not due", cur: lin(10*day, 80*day), window: now.Add(time.Hour)},
		{name: "ARI window open", cur: lin(10*day, 80*day), window: now.Add(time.Hour), ariStart: now.Add(-4 * day), ariEnd: now.Add(4 * day), issue: true},
		{name: "ARI window closed: urgent", cur: lin(10*day, 80*day), window: now.Add(time.Hour), ariStart: now.Add(-4 * day), ariEnd: now.Add(-time.Hour), issue: true, urgent: true},
		{name: "ARI window later wins over 2/3 lifetime", cur: lin(65*day, 25*day), window: now.Add(time.Hour), ariStart: now.Add(5 * day), ariEnd: now.Add(7 * day)},
		{name: "expired is urgent", cur: lin(91*day, -time.Hour), window: now.Add(time.Hour), issue: true, urgent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(Input{Spec: spec, Current: tt.cur, Now: now, NextWindow: tt.window, ARIStart: tt.ariStart, ARIEnd: tt.ariEnd, DefaultKeyType: cert.EC256})
			if d.Issue() != tt.issue || (d.Urgency == UrgencyNow) != tt.urgent {
				t.Errorf("Evaluate = issue %v urgency %v (%s), want %v %v", d.Issue(), d.Urgency, d, tt.issue, tt.urgent)
			}
		})
	}
}

func TestJitterIsStableAndBounded(t *testing.T) {
	a, b := jitter("1234", time.Hour), jitter("1234", time.Hour)
	if a != b || a < 0 || a >= time.Hour {
		t.Fatalf("jitter %v %v", a, b)
	}
	if jitter("1234", time.Hour) == jitter("5678", time.Hour) && jitter("1", time.Hour) == jitter("2", time.Hour) {
		t.Fatal("jitter does not depend on the serial")
	}
}

func TestBackoffIsPersistedAcrossRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := NewMemory()
		iss := &fakeIssuer{failFor: map[string]error{"a.example.com": errors.New("CA down")}}
		src := specs([]string{"a.example.com"})
		res := New(&memStore{}, iss, []Source{src}, nil, Options{Memory: mem}).RunOnce(context.Background())
		if res.Failed["a.example.com"] == nil {
			t.Fatal("expected a failure")
		}
		rec, _ := mem.Get("a.example.com")
		if rec.Failures != 1 || !rec.NextAttempt.After(time.Now()) || !strings.Contains(rec.LastError, "CA down") {
			t.Fatalf("record %+v", rec)
		}
		// A restarted daemon honours the persisted backoff: no order meanwhile.
		iss2 := &fakeIssuer{}
		c := New(&memStore{}, iss2, []Source{src}, nil, Options{Memory: mem})
		stop := runDaemon(t, c)
		time.Sleep(200 * time.Millisecond)
		stop()
		if n := iss2.orders.Load(); n != 0 {
			t.Fatalf("%d orders during the persisted backoff", n)
		}
		if f := c.Failures()["a.example.com"]; f.Count != 1 {
			t.Fatalf("Failures() = %+v", f)
		}
	})
}

type recNotifier struct{ calls atomic.Int32 }

func (n *recNotifier) Failed(context.Context, cert.Spec, error, int) { n.calls.Add(1) }

func TestNotifyOncePerStreak(t *testing.T) {
	mem, n := NewMemory(), &recNotifier{}
	iss := &fakeIssuer{failFor: map[string]error{"a.example.com": errors.New("down")}}
	// No wait between attempts: each RunOnce below retries.
	noWait := func(int) time.Duration { return 0 }
	c := New(&memStore{}, iss, []Source{specs([]string{"a.example.com"})}, nil, Options{Memory: mem, Notifier: n, Backoff: noWait})
	for range 3 {
		c.RunOnce(context.Background())
	}
	if got := n.calls.Load(); got != 1 {
		t.Fatalf("notified %d times for one streak, want 1", got)
	}
	iss.mu.Lock()
	iss.failFor = nil
	iss.mu.Unlock()
	c.RunOnce(context.Background()) // success ends the streak
	iss.mu.Lock()
	iss.failFor = map[string]error{"a.example.com": errors.New("down again")}
	iss.mu.Unlock()
	c.Renew(context.Background(), []string{"a.example.com"}, true)
	if got := n.calls.Load(); got != 2 {
		t.Fatalf("a new streak notified %d times in total, want 2", got)
	}
}

func TestPrune(t *testing.T) {
	now := time.Now()
	mem := NewMemory()
	mem.Put("gone-file.example.com", Record{Owned: true, Origin: cert.FromFile, LastWanted: now.Add(-time.Hour)})
	mem.Put("gone-label-recent.example.com", Record{Owned: true, Origin: cert.FromLabel, LastWanted: now.Add(-time.Hour)})
	mem.Put("gone-label-old.example.com", Record{Owned: true, Origin: cert.FromLabel, LastWanted: now.Add(-8 * 24 * time.Hour)})
	mem.Put("foreign.example.com", Record{Owned: false, Origin: cert.FromFile})
	st := &memStore{m: map[string]*cert.Lineage{}}
	for _, n := range mem.Names() {
		st.m[n] = &cert.Lineage{Name: n, Domains: []string{n}, NotBefore: now, NotAfter: now.Add(90 * 24 * time.Hour), KeyType: cert.EC256, CertPEM: []byte("pem")}
	}
	iss := &fakeIssuer{}
	keep := specs([]string{"kept.example.com"})

	t.Run("unreadable source prunes nothing", func(t *testing.T) {
		broken := SourceFunc(func(context.Context) ([]cert.Spec, []error) {
			return nil, []error{fmt.Errorf("domains.conf: permission denied: %w", ErrSourceUnavailable)}
		})
		New(st, iss, []Source{keep, broken}, nil, Options{Memory: mem, RevokeRemoved: true}).RunOnce(context.Background())
		if len(st.removed) != 0 {
			t.Fatalf("removed %v while a source was unavailable", st.removed)
		}
	})
	t.Run("removed line revoked and deleted, labels after grace", func(t *testing.T) {
		New(st, iss, []Source{keep}, nil, Options{Memory: mem, RevokeRemoved: true}).RunOnce(context.Background())
		slices.Sort(st.removed)
		if !slices.Equal(st.removed, []string{"gone-file.example.com", "gone-label-old.example.com"}) {
			t.Fatalf("removed %v", st.removed)
		}
		if iss.revoked.Load() != 1 {
			t.Fatalf("revoked %d certificates, want only the domains.conf one", iss.revoked.Load())
		}
		if _, ok := mem.Get("gone-label-recent.example.com"); !ok {
			t.Fatal("a label certificate inside its grace period was forgotten")
		}
		if rec, _ := mem.Get("kept.example.com"); !rec.Owned || rec.Origin != cert.FromFile || rec.Source != "domains.conf:1" {
			t.Fatalf("issued certificate not recorded as owned: %+v", rec)
		}
	})
}

type recDeployer struct{ names []string }

func (d *recDeployer) Deploy(_ context.Context, s cert.Spec, l *cert.Lineage) error {
	d.names = append(d.names, fmt.Sprintf("%s@%d", s.Name, l.Version))
	return errors.New("hook failed")
}

type recLocker struct {
	mu    sync.Mutex
	locks int
}

func (l *recLocker) Lock(context.Context, string) (func(), error) {
	l.mu.Lock()
	l.locks++
	l.mu.Unlock()
	return func() {}, nil
}

func TestDeployAndLock(t *testing.T) {
	dep, lock := &recDeployer{}, &recLocker{}
	act := &recActor{}
	restart := cert.Action{Kind: cert.Restart, Target: "web"}
	src := SourceFunc(func(context.Context) ([]cert.Spec, []error) {
		return []cert.Spec{{Name: "a.example.com", Domains: []string{"a.example.com"}, Actions: []cert.Action{restart}}}, nil
	})
	res := New(&memStore{}, &fakeIssuer{}, []Source{src}, act, Options{Deployer: dep, Locker: lock}).RunOnce(context.Background())
	if len(res.Issued) != 1 || !slices.Equal(dep.names, []string{"a.example.com@1"}) || lock.locks != 1 {
		t.Fatalf("issued %v deployed %v locks %d", res.Issued, dep.names, lock.locks)
	}
	if len(act.calls) != 1 {
		t.Fatal("a failing deploy hook must not stop the Docker actions")
	}
}

func TestMaintenanceTickRenewsDueCertificates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		st := &memStore{m: map[string]*cert.Lineage{
			// Due (2/3 of its life gone) but far from its deadline.
			"a.example.com": {Name: "a.example.com", Domains: []string{"a.example.com"}, NotBefore: now.Add(-65 * 24 * time.Hour), NotAfter: now.Add(25 * 24 * time.Hour), KeyType: cert.EC256, Version: 1},
		}}
		iss := &fakeIssuer{}
		var tickAt atomic.Int64
		tickAt.Store(now.Add(time.Hour).UnixNano())
		c := New(st, iss, []Source{specs([]string{"a.example.com"})}, nil, Options{
			DefaultKeyType: cert.EC256,
			Window:         func(time.Time) time.Time { return time.Unix(0, tickAt.Load()) },
		})
		stop := runDaemon(t, c)
		defer stop()
		time.Sleep(200 * time.Millisecond)
		if iss.orders.Load() != 0 {
			t.Fatal("a merely due certificate was renewed outside the maintenance window")
		}
		tickAt.Store(time.Now().Add(100 * time.Millisecond).UnixNano())
		c.Trigger() // re-arm the window timer
		waitFor(t, func() bool { l, _ := st.Load("a.example.com"); return l.Version == 2 })
	})
}

func TestTriggerNowBypassesMinInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var passes atomic.Int32
		src := SourceFunc(func(context.Context) ([]cert.Spec, []error) { passes.Add(1); return nil, nil })
		c := New(&memStore{}, &fakeIssuer{}, []Source{src}, nil, Options{Quiet: 10 * time.Millisecond, MinInterval: time.Hour})
		stop := runDaemon(t, c)
		defer stop()
		c.Trigger() // first trigger after start-up is not rate-limited
		waitFor(t, func() bool { return passes.Load() == 2 })
		c.Trigger()
		time.Sleep(100 * time.Millisecond)
		if passes.Load() != 2 {
			t.Fatal("a plain trigger inside MinInterval ran a pass")
		}
		c.TriggerNow()
		waitFor(t, func() bool { return passes.Load() == 3 })
	})
}

type recObserver struct {
	mu             sync.Mutex
	issued, passes int
	readyCalls     int
	ready          map[string]bool
	forgotten      []string
	delivered      []Delivered
}

func (o *recObserver) Issued(string, time.Duration, error) { o.mu.Lock(); o.issued++; o.mu.Unlock() }
func (o *recObserver) Reconciled(time.Duration)            { o.mu.Lock(); o.passes++; o.mu.Unlock() }
func (o *recObserver) Ready()                              { o.mu.Lock(); o.readyCalls++; o.mu.Unlock() }
func (o *recObserver) Certificate(name string, _ *cert.Lineage, _ time.Time, ready bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ready[name] = ready
}
func (o *recObserver) Delivered(d Delivered) {
	o.mu.Lock()
	o.delivered = append(o.delivered, d)
	o.mu.Unlock()
}
func (o *recObserver) Forgot(name string) {
	o.mu.Lock()
	o.forgotten = append(o.forgotten, name)
	o.mu.Unlock()
}

func TestObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &recObserver{ready: map[string]bool{}}
		var lines atomic.Value
		lines.Store([]string{"a.example.com", "b.example.com"})
		src := SourceFunc(func(ctx context.Context) ([]cert.Spec, []error) {
			var out []cert.Spec
			for _, n := range lines.Load().([]string) {
				out = append(out, cert.Spec{Name: n, Domains: []string{n}})
			}
			return out, nil
		})
		c := New(&memStore{}, &fakeIssuer{}, []Source{src}, nil, Options{Observer: obs, Quiet: 10 * time.Millisecond, MinInterval: 10 * time.Millisecond})
		stop := runDaemon(t, c)
		defer stop()
		waitFor(t, func() bool {
			obs.mu.Lock()
			defer obs.mu.Unlock()
			return obs.ready["a.example.com"] && obs.ready["b.example.com"]
		})
		lines.Store([]string{"a.example.com"})
		c.Trigger()
		waitFor(t, func() bool {
			obs.mu.Lock()
			defer obs.mu.Unlock()
			return slices.Contains(obs.forgotten, "b.example.com") && obs.passes >= 2 // Reconciled ends a pass
		})
		obs.mu.Lock()
		defer obs.mu.Unlock()
		if obs.issued != 2 || obs.passes < 2 {
			t.Fatalf("issued %d passes %d", obs.issued, obs.passes)
		}
	})
}

func TestAdoptsExistingLineagesFromDomainsConf(t *testing.T) {
	now := time.Now()
	st := &memStore{m: map[string]*cert.Lineage{
		"old.example.com": {Name: "old.example.com", Domains: []string{"old.example.com"}, NotBefore: now, NotAfter: now.Add(90 * 24 * time.Hour), KeyType: cert.EC256, Version: 3},
	}}
	mem := NewMemory()
	iss := &fakeIssuer{}
	res := New(st, iss, []Source{specs([]string{"old.example.com"})}, nil, Options{Memory: mem}).RunOnce(context.Background())
	if len(res.Issued) != 0 || iss.orders.Load() != 0 {
		t.Fatalf("a valid existing lineage was re-issued: %v", res.Issued)
	}
	if rec, _ := mem.Get("old.example.com"); !rec.Owned {
		t.Fatal("existing lineage listed in domains.conf not adopted")
	}
}

type keyTypeIssuer struct {
	fakeIssuer
	got cert.KeyType
}

func (k *keyTypeIssuer) Issue(ctx context.Context, s cert.Spec, cur *cert.Lineage) (cert.Bundle, cert.IssueMeta, error) {
	k.got = s.KeyType
	return k.fakeIssuer.Issue(ctx, s, cur)
}

func TestRenewalKeepsTheLineageKeyTypeUnlessOneIsAsked(t *testing.T) {
	now := time.Now()
	lin := func() *memStore {
		return &memStore{m: map[string]*cert.Lineage{"rsa.example.com": {Name: "rsa.example.com", Domains: []string{"rsa.example.com"}, NotBefore: now, NotAfter: now.Add(90 * 24 * time.Hour), KeyType: cert.RSA2048, Version: 1}}}
	}
	iss := &keyTypeIssuer{}
	res := New(lin(), iss, []Source{specs([]string{"rsa.example.com"})}, nil, Options{}).Renew(context.Background(), []string{"rsa.example.com"}, true)
	if len(res.Issued) != 1 || iss.got != cert.RSA2048 {
		t.Fatalf("renewal asked for key type %q, want the lineage's rsa2048", iss.got)
	}
	iss.got = ""
	res = New(lin(), iss, []Source{specs([]string{"rsa.example.com"})}, nil, Options{DefaultKeyType: cert.EC256}).RunOnce(context.Background())
	if len(res.Issued) != 1 {
		t.Fatal("with ACME_KEY_TYPE=ec256 an RSA certificate must be re-issued")
	}
}

// mutexLocker is an in-process per-name lock, like the file lock.
type mutexLocker struct {
	mu    sync.Mutex
	names map[string]*sync.Mutex
}

func (l *mutexLocker) Lock(_ context.Context, name string) (func(), error) {
	l.mu.Lock()
	if l.names == nil {
		l.names = map[string]*sync.Mutex{}
	}
	m := l.names[name]
	if m == nil {
		m = &sync.Mutex{}
		l.names[name] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock, nil
}

// A line removed while its certificate is being issued must end removed:
// the removal waits for the issuance instead of letting it write a
// lineage back after the delete.
func TestRemovalWaitsForIssuanceInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := &fakeIssuer{delay: 300 * time.Millisecond}
		st := &memStore{}
		var removed atomic.Bool
		both, one := specs([]string{"a.example.com"}, []string{"b.example.com"}), specs([]string{"a.example.com"})
		src := SourceFunc(func(ctx context.Context) ([]cert.Spec, []error) {
			if removed.Load() {
				return one(ctx)
			}
			return both(ctx)
		})
		mem := NewMemory()
		c := New(st, iss, []Source{src}, nil, Options{
			Memory: mem, Locker: &mutexLocker{},
			Quiet: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MinInterval: time.Millisecond,
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		waitFor(t, func() bool {
			iss.mu.Lock()
			defer iss.mu.Unlock()
			return iss.running["b.example.com"]
		})
		removed.Store(true)
		c.TriggerNow()
		waitFor(t, func() bool { _, err := st.Load("a.example.com"); return err == nil })
		waitFor(t, func() bool {
			_, err := st.Load("b.example.com")
			_, recorded := mem.Get("b.example.com")
			return err != nil && !recorded && iss.orders.Load() == 2
		})
		time.Sleep(100 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := st.Load("b.example.com"); err == nil {
			t.Fatal("the removed certificate came back")
		}
		if n := iss.orders.Load(); n != 2 {
			t.Fatalf("%d orders, want 2 (b must not be ordered again)", n)
		}
	})
}

// A full pass (run --once) honours the persisted backoff; naming the
// certificate retries it at once.
func TestRunOnceHonoursPersistedBackoff(t *testing.T) {
	mem := NewMemory()
	iss := &fakeIssuer{failFor: map[string]error{"a.example.com": errors.New("rate limited")}}
	src := []Source{specs([]string{"a.example.com"}, []string{"b.example.com"})}
	res := New(&memStore{}, iss, src, nil, Options{Memory: mem}).RunOnce(context.Background())
	if res.Failed["a.example.com"] == nil || iss.orders.Load() != 2 {
		t.Fatalf("first pass: %+v, %d orders", res, iss.orders.Load())
	}
	// A new process (same state): a is not ordered again, b is fine.
	st := &memStore{}
	c := New(st, iss, src, nil, Options{Memory: mem})
	res = c.RunOnce(context.Background())
	if !errors.Is(res.Failed["a.example.com"], ErrBackingOff) || iss.orders.Load() != 3 {
		t.Fatalf("second pass: %+v, %d orders (want a skipped, b ordered)", res, iss.orders.Load())
	}
	if rec, _ := mem.Get("a.example.com"); rec.Failures != 1 {
		t.Fatalf("a skipped attempt counted as a failure: %+v", rec)
	}
	res = c.Renew(context.Background(), []string{"a.example.com"}, false)
	if iss.orders.Load() != 4 || res.Failed["a.example.com"] == nil || errors.Is(res.Failed["a.example.com"], ErrBackingOff) {
		t.Fatalf("renew NAME must retry at once: %+v, %d orders", res, iss.orders.Load())
	}
}

// forcingSource is a Source that is a Forcer: it forces names once.
type forcingSource struct {
	SourceFunc
	mu    sync.Mutex
	force []string
}

func (f *forcingSource) Forced() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.force
	f.force = nil
	return out
}

func TestForcerForcesOnePass(t *testing.T) {
	st, iss := &memStore{}, &fakeIssuer{}
	src := &forcingSource{SourceFunc: specs([]string{"a.example.com"}, []string{"b.example.com"})}
	c := New(st, iss, []Source{src}, nil, Options{})
	if res := c.RunOnce(context.Background()); len(res.Issued) != 2 {
		t.Fatalf("first pass issued %v", res.Issued)
	}
	if _, err := c.Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	src.mu.Lock()
	src.force = []string{"a.example.com", "gone.example.com"} // one not desired: ignored
	src.mu.Unlock()
	res := c.RunOnce(context.Background())
	if !slices.Equal(res.Issued, []string{"a.example.com"}) || res.Err() != nil {
		t.Fatalf("the forcing pass issued %v (%v), want a.example.com only", res.Issued, res.Err())
	}
	if l, _ := st.Load("a.example.com"); l == nil || l.Version != 2 {
		t.Fatalf("a.example.com after the forced pass: %+v, want version 2", l)
	}
	if res := c.RunOnce(context.Background()); len(res.Issued) != 0 {
		t.Fatalf("a force is asked for once, yet the next pass issued %v", res.Issued)
	}
}

// orderDeployer records the order of the deploy steps and the actions.
type orderDeployer struct {
	mu    sync.Mutex
	steps *[]string
}

func (d *orderDeployer) Deploy(_ context.Context, s cert.Spec, _ *cert.Lineage) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	*d.steps = append(*d.steps, "deploy "+s.Name)
	return nil
}

func (d *orderDeployer) DeployFinal(_ context.Context, s cert.Spec) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	*d.steps = append(*d.steps, "final "+s.Name)
	return errors.New("final step failed")
}

type orderActor struct {
	d *orderDeployer
}

func (a orderActor) Act(_ context.Context, acts []cert.Action) []error {
	a.d.mu.Lock()
	defer a.d.mu.Unlock()
	for _, x := range acts {
		*a.d.steps = append(*a.d.steps, "act "+x.Target)
	}
	return nil
}

func TestFinalDeployAfterActions(t *testing.T) {
	var steps []string
	dep := &orderDeployer{steps: &steps}
	src := SourceFunc(func(context.Context) ([]cert.Spec, []error) {
		return []cert.Spec{{Name: "a.example.com", Domains: []string{"a.example.com"}, Actions: []cert.Action{{Kind: cert.Restart, Target: "web"}}}}, nil
	})
	res := New(&memStore{}, &fakeIssuer{}, []Source{src}, orderActor{dep}, Options{Deployer: dep}).RunOnce(context.Background())
	if len(res.Issued) != 1 {
		t.Fatalf("issued %v", res.Issued)
	}
	if want := []string{"deploy a.example.com", "act web", "final a.example.com"}; !slices.Equal(steps, want) {
		t.Fatalf("steps %q, want %q", steps, want)
	}
	// Without a Docker connection the actions are skipped; the final step
	// still runs.
	steps = nil
	res = New(&memStore{}, &fakeIssuer{}, []Source{src}, nil, Options{Deployer: dep}).RunOnce(context.Background())
	if want := []string{"deploy a.example.com", "final a.example.com"}; len(res.Issued) != 1 || !slices.Equal(steps, want) {
		t.Fatalf("without Docker: steps %q, want %q", steps, want)
	}
}
