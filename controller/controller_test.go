package controller

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/certdock/certdock/cert"
)

// fakeIssuer issues self-signed certificates and counts orders.
type fakeIssuer struct {
	orders  atomic.Int32
	mu      sync.Mutex
	failFor map[string]error
	running map[string]bool
	overlap atomic.Bool
	delay   time.Duration
	revoked atomic.Int32
	// ari, when set, is the renewal window offered for every certificate;
	// ariCalls counts the lookups.
	ari      *Window
	ariCalls int
}

func (f *fakeIssuer) Server() string { return "https://fake/dir" }

func (f *fakeIssuer) Revoke(context.Context, []byte) error { f.revoked.Add(1); return nil }

func (f *fakeIssuer) RenewalWindow(context.Context, *x509.Certificate) (Window, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ariCalls++
	if f.ari == nil {
		return Window{}, ErrNoWindow
	}
	return *f.ari, nil
}

func (f *fakeIssuer) Issue(ctx context.Context, s cert.Spec, _ *cert.Lineage) (cert.Bundle, cert.IssueMeta, error) {
	f.orders.Add(1)
	f.mu.Lock()
	if f.running == nil {
		f.running = map[string]bool{}
	}
	if f.running[s.Name] {
		f.overlap.Store(true)
	}
	f.running[s.Name] = true
	err := f.failFor[s.Name]
	f.mu.Unlock()
	defer func() { f.mu.Lock(); delete(f.running, s.Name); f.mu.Unlock() }()
	time.Sleep(f.delay)
	if err != nil {
		return cert.Bundle{}, cert.IssueMeta{}, err
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: s.Domains[0]}, DNSNames: s.Domains,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kder, _ := x509.MarshalECPrivateKey(key)
	return cert.Bundle{
		Cert:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}, cert.IssueMeta{Server: f.Server(), KeyType: cert.EC256}, nil
}

// memStore keeps lineages in memory.
type memStore struct {
	mu      sync.Mutex
	m       map[string]*cert.Lineage
	old     map[string][]cert.Version // superseded versions
	fail    map[string]error
	removed []string
}

func (s *memStore) Versions(name string) ([]cert.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.m[name]
	if !ok {
		return nil, fmt.Errorf("lineage %s: %w", name, fs.ErrNotExist)
	}
	return append(slices.Clone(s.old[name]), cert.Version{Number: l.Version, CertPEM: l.CertPEM, NotAfter: l.NotAfter}), nil
}

func (s *memStore) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, name)
	delete(s.old, name)
	s.removed = append(s.removed, name)
	return nil
}

func (s *memStore) Names() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.m)), nil
}

func (s *memStore) Load(name string) (*cert.Lineage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail[name]; err != nil {
		return nil, err
	}
	l, ok := s.m[name]
	if !ok {
		return nil, fmt.Errorf("lineage %s: %w", name, fs.ErrNotExist)
	}
	return l, nil
}

func (s *memStore) Save(name string, b cert.Bundle, meta cert.IssueMeta) (*cert.Lineage, error) {
	blk, _ := pem.Decode(b.Cert)
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*cert.Lineage{}
	}
	v := 1
	if old := s.m[name]; old != nil {
		v = old.Version + 1
		if s.old == nil {
			s.old = map[string][]cert.Version{}
		}
		s.old[name] = append(s.old[name], cert.Version{Number: old.Version, CertPEM: old.CertPEM, NotAfter: old.NotAfter})
	}
	l := &cert.Lineage{Name: name, Version: v, Domains: leaf.DNSNames, NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter, KeyType: meta.KeyType, Server: meta.Server, Leaf: leaf, CertPEM: b.Cert}
	s.m[name] = l
	return l, nil
}

type recActor struct {
	mu    sync.Mutex
	calls [][]cert.Action
}

func (a *recActor) Act(_ context.Context, acts []cert.Action) []error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, acts)
	return nil
}

func specs(lines ...[]string) SourceFunc {
	return SourceFunc(func(context.Context) ([]cert.Spec, []error) {
		var out []cert.Spec
		for i, d := range lines {
			out = append(out, cert.Spec{Name: cert.LineageName(d[0]), Domains: d,
				Source: cert.Source{Kind: cert.FromFile, File: "domains.conf", Line: i + 1}})
		}
		return out, nil
	})
}

func TestRunOnceIssuesThenNothing(t *testing.T) {
	iss, st := &fakeIssuer{}, &memStore{}
	c := New(st, iss, []Source{specs([]string{"a.example.com"}, []string{"b.example.com", "c.example.com"})}, nil, Options{DefaultKeyType: cert.EC256})
	res := c.RunOnce(context.Background())
	if err := res.Err(); err != nil || len(res.Issued) != 2 {
		t.Fatalf("first pass: issued %v, err %v", res.Issued, err)
	}
	res = c.RunOnce(context.Background())
	if len(res.Issued) != 0 || len(res.Unchanged) != 2 || iss.orders.Load() != 2 {
		t.Fatalf("second pass: issued %v unchanged %v orders %d; want 0 new orders", res.Issued, res.Unchanged, iss.orders.Load())
	}
}

func TestRunOnceOneFailureDoesNotStopOthers(t *testing.T) {
	iss := &fakeIssuer{failFor: map[string]error{"bad.example.com": errors.New("DNS update refused")}}
	st := &memStore{}
	problem := errors.New("domains.conf:3: bad line")
	src := SourceFunc(func(ctx context.Context) ([]cert.Spec, []error) {
		s, _ := specs([]string{"bad.example.com"}, []string{"good.example.com"})(ctx)
		return s, []error{problem}
	})
	res := New(st, iss, []Source{src}, nil, Options{}).RunOnce(context.Background())
	if !slices.Equal(res.Issued, []string{"good.example.com"}) || res.Failed["bad.example.com"] == nil {
		t.Fatalf("issued %v failed %v", res.Issued, res.Failed)
	}
	if err := res.Err(); !errors.Is(err, problem) {
		t.Fatalf("Err() = %v, want it to include the bad line", err)
	}
}

func TestRunOnceActsOncePerTarget(t *testing.T) {
	src := SourceFunc(func(context.Context) ([]cert.Spec, []error) {
		restart := cert.Action{Kind: cert.Restart, Target: "mail"}
		return []cert.Spec{
			{Name: "smtp.example.com", Domains: []string{"smtp.example.com"}, Actions: []cert.Action{restart}},
			{Name: "imap.example.com", Domains: []string{"imap.example.com"}, Actions: []cert.Action{restart, {Kind: cert.Exec, Target: "web", Command: []string{"nginx", "-s", "reload"}}}},
		}, nil
	})
	act := &recActor{}
	New(&memStore{}, &fakeIssuer{}, []Source{src}, act, Options{}).RunOnce(context.Background())
	if len(act.calls) != 1 || len(act.calls[0]) != 2 {
		t.Fatalf("actions = %v, want one call with restart mail + exec web", act.calls)
	}
	act.calls = nil
	New(&memStore{m: map[string]*cert.Lineage{}}, &fakeIssuer{}, []Source{SourceFunc(func(context.Context) ([]cert.Spec, []error) { return nil, nil })}, act, Options{}).RunOnce(context.Background())
	if len(act.calls) != 0 {
		t.Fatalf("no change must cause no action, got %v", act.calls)
	}
}

func TestRenewForce(t *testing.T) {
	iss, st := &fakeIssuer{}, &memStore{}
	c := New(st, iss, []Source{specs([]string{"a.example.com"}, []string{"b.example.com"})}, nil, Options{})
	c.RunOnce(context.Background())
	res := c.Renew(context.Background(), []string{"a.example.com"}, true)
	if !slices.Equal(res.Issued, []string{"a.example.com"}) || st.m["a.example.com"].Version != 2 || st.m["b.example.com"].Version != 1 {
		t.Fatalf("forced renew: issued %v", res.Issued)
	}
	res = c.Renew(context.Background(), []string{"nope.example.com"}, true)
	if res.Failed["nope.example.com"] == nil {
		t.Fatal("renewing an unknown name must fail")
	}
}

func TestDesiredConflictKeepsFirst(t *testing.T) {
	a := specs([]string{"example.com"})
	b := SourceFunc(func(context.Context) ([]cert.Spec, []error) {
		return []cert.Spec{{Name: "example.com", Domains: []string{"example.com", "other.example.com"}, Source: cert.Source{Kind: cert.FromLabel, Workload: "web"}}}, nil
	})
	set := New(&memStore{}, &fakeIssuer{}, []Source{a, b}, nil, Options{}).desiredSet(context.Background())
	got, problems := set.specs, set.problems
	if len(problems) != 1 || len(got["example.com"].Domains) != 1 {
		t.Fatalf("got %v problems %v", got, problems)
	}
}

func TestRunDaemonRetriesWithBackoffAndCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := &fakeIssuer{failFor: map[string]error{"a.example.com": errors.New("CA down")}, delay: 5 * time.Millisecond}
		st := &memStore{}
		var passes atomic.Int32
		base := specs([]string{"a.example.com"}, []string{"b.example.com"})
		src := SourceFunc(func(ctx context.Context) ([]cert.Spec, []error) {
			passes.Add(1)
			return base(ctx)
		})
		c := New(st, iss, []Source{src}, nil, Options{
			Backoff: func(n int) time.Duration { return time.Duration(n) * 30 * time.Millisecond },
			Quiet:   20 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MinInterval: 10 * time.Millisecond,
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		waitFor(t, func() bool { return c.Failures()["a.example.com"].Count >= 3 })
		if _, err := st.Load("b.example.com"); err != nil {
			t.Fatalf("b not issued while a fails: %v", err)
		}
		iss.mu.Lock()
		iss.failFor = nil
		iss.mu.Unlock()
		waitFor(t, func() bool { _, err := st.Load("a.example.com"); return err == nil })
		waitFor(t, func() bool { return len(c.Failures()) == 0 })

		before := passes.Load()
		for range 50 {
			c.Trigger()
		}
		time.Sleep(300 * time.Millisecond)
		if n := passes.Load() - before; n < 1 || n > 2 {
			t.Fatalf("50 triggers caused %d passes, want 1-2", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if iss.overlap.Load() {
			t.Fatal("one certificate was issued twice at once")
		}
	})
}

// runDaemon runs c.Run until the returned stop is called, which waits for
// it to return (inside a synctest bubble every goroutine must end).
func runDaemon(t *testing.T, c *Controller) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDesiredSubscriptions(t *testing.T) {
	file := specs([]string{"mail.example.com"})
	lbl := SourceFunc(func(context.Context) ([]cert.Spec, []error) {
		return []cert.Spec{
			{Name: "mail.example.com", Source: cert.Source{Kind: cert.FromLabel, Workload: "container postfix"}, Actions: []cert.Action{{Kind: cert.Restart, Target: "postfix"}}},
			{Name: "mail.example.com", Source: cert.Source{Kind: cert.FromLabel, Workload: "service mail"}, Deliveries: []cert.Delivery{{Kind: cert.DeliverSecrets, Service: "mail"}}},
			{Name: "nope.example.com", Source: cert.Source{Kind: cert.FromLabel, Workload: "container x"}, Actions: []cert.Action{{Kind: cert.Restart, Target: "x"}}},
		}, nil
	})
	set := New(&memStore{}, &fakeIssuer{}, []Source{file, lbl}, nil, Options{}).desiredSet(context.Background())
	got, problems := set.specs, set.problems
	if len(got["mail.example.com"].Actions) != 1 || got["mail.example.com"].Actions[0].Target != "postfix" ||
		len(got["mail.example.com"].Deliveries) != 1 || got["mail.example.com"].Deliveries[0].Service != "mail" {
		t.Fatalf("subscription not attached: %+v", got["mail.example.com"])
	}
	if _, ok := got["nope.example.com"]; ok || len(problems) != 1 || !strings.Contains(problems[0].Error(), "container x: subscribes to certificate \"nope.example.com\"") {
		t.Fatalf("unknown subscription: got %v, problems %v", got, problems)
	}
}

func TestDaemonActsOncePerTargetPerBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		restart := cert.Action{Kind: cert.Restart, Target: "mail"}
		src := SourceFunc(func(context.Context) ([]cert.Spec, []error) {
			return []cert.Spec{
				{Name: "smtp.example.com", Domains: []string{"smtp.example.com"}, Actions: []cert.Action{restart}},
				{Name: "imap.example.com", Domains: []string{"imap.example.com"}, Actions: []cert.Action{restart}},
			}, nil
		})
		act := &recActor{}
		c := New(&memStore{}, &fakeIssuer{delay: 10 * time.Millisecond}, []Source{src}, act, Options{})
		stop := runDaemon(t, c)
		defer stop()
		waitFor(t, func() bool { act.mu.Lock(); defer act.mu.Unlock(); return len(act.calls) > 0 })
		time.Sleep(100 * time.Millisecond)
		act.mu.Lock()
		defer act.mu.Unlock()
		n := 0
		for _, call := range act.calls {
			n += len(call)
		}
		if n != 1 {
			t.Fatalf("target restarted %d times for two certificates issued together, want 1 (%v)", n, act.calls)
		}
	})
}

func TestTriggerStormIsRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var passes atomic.Int32
		src := SourceFunc(func(context.Context) ([]cert.Spec, []error) { passes.Add(1); return nil, nil })
		c := New(&memStore{}, &fakeIssuer{}, []Source{src}, nil, Options{Quiet: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond, MinInterval: 300 * time.Millisecond})
		stop := runDaemon(t, c)
		defer stop()
		time.Sleep(50 * time.Millisecond)
		// A storm: a trigger every 10 ms for 700 ms.
		start := passes.Load()
		for range 70 {
			c.Trigger()
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		if n := passes.Load() - start; n < 2 || n > 4 {
			t.Fatalf("a 700 ms storm caused %d passes, want 2-4 with a 300 ms minimum interval", n)
		}
		// An isolated trigger after quiet time is served after Quiet, not MinInterval.
		time.Sleep(400 * time.Millisecond)
		before := passes.Load()
		c.Trigger()
		time.Sleep(100 * time.Millisecond)
		if passes.Load() != before+1 {
			t.Fatal("an isolated trigger was not served within the quiet period")
		}
	})
}
