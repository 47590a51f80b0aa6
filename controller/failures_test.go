package controller

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
)

// kindError is an issuer error with a kind, as issuer.Error has.
type kindError struct {
	permanent bool
	after     time.Duration
}

func (e kindError) Error() string        { return "kind error" }
func (e kindError) Permanent() bool      { return e.permanent }
func (e kindError) After() time.Duration { return e.after }

func TestGate(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	tests := []struct {
		name    string
		rec     Record
		spec    string
		config  string
		blocked bool
	}{
		{name: "no failure", rec: Record{}, blocked: false},
		{name: "transient, waiting", rec: Record{Failures: 2, NextAttempt: later, FailedSpec: "s"}, spec: "s", blocked: true},
		{name: "transient, time passed", rec: Record{Failures: 2, NextAttempt: now.Add(-time.Second), FailedSpec: "s"}, spec: "s"},
		{name: "transient, spec changed", rec: Record{Failures: 2, NextAttempt: later, FailedSpec: "s"}, spec: "t"},
		{name: "transient ignores config changes", rec: Record{Failures: 1, NextAttempt: later, FailedConfig: "a"}, config: "b", blocked: true},
		{name: "config error, same config", rec: Record{Failures: 1, NextAttempt: later, NeedsConfig: true, FailedConfig: "a"}, config: "a", blocked: true},
		{name: "config error, config changed", rec: Record{Failures: 1, NextAttempt: later, NeedsConfig: true, FailedConfig: "a"}, config: "b"},
		{name: "record from before spec tags", rec: Record{Failures: 1, NextAttempt: later}, spec: "s", blocked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gate(tt.rec, tt.spec, tt.config, now); got != tt.blocked {
				t.Fatalf("gate = %v, want %v", got, tt.blocked)
			}
		})
	}
}

// A configuration error (missing credential) waits for the configuration
// to change, on the slow schedule, not the transient backoff.
func TestConfigErrorWaitsForAConfigurationChange(t *testing.T) {
	mem := NewMemory()
	iss := &fakeIssuer{failFor: map[string]error{"a.example.com": kindError{permanent: true}}}
	src := []Source{specs([]string{"a.example.com"})}
	now := time.Now()
	res := New(&memStore{}, iss, src, nil, Options{Memory: mem, ConfigTag: "v1", Backoff: func(int) time.Duration { return time.Millisecond }}).RunOnce(context.Background())
	rec, _ := mem.Get("a.example.com")
	if res.Failed["a.example.com"] == nil || !rec.NeedsConfig || rec.NextAttempt.Sub(now) < 5*time.Hour {
		t.Fatalf("first run: %+v, record %+v: want a configuration failure retried in ~6 h", res, rec)
	}
	// Same configuration: not retried, reported as needing configuration.
	res = New(&memStore{}, iss, src, nil, Options{Memory: mem, ConfigTag: "v1"}).RunOnce(context.Background())
	if !errors.Is(res.Failed["a.example.com"], ErrNeedsConfig) || iss.orders.Load() != 1 {
		t.Fatalf("same configuration: %v, %d orders", res.Failed, iss.orders.Load())
	}
	// The configuration changed: retried at once, and it works now.
	iss.mu.Lock()
	iss.failFor = nil
	iss.mu.Unlock()
	res = New(&memStore{}, iss, src, nil, Options{Memory: mem, ConfigTag: "v2"}).RunOnce(context.Background())
	if len(res.Issued) != 1 || iss.orders.Load() != 2 {
		t.Fatalf("changed configuration: %+v, %d orders", res, iss.orders.Load())
	}
	if rec, _ := mem.Get("a.example.com"); rec.Failures != 0 || rec.NeedsConfig {
		t.Fatalf("success did not clear the failure: %+v", rec)
	}
}

// A transient error backs off, and the CA's Retry-After wins over a
// shorter backoff.
func TestTransientErrorHonoursRetryAfter(t *testing.T) {
	mem := NewMemory()
	iss := &fakeIssuer{failFor: map[string]error{"a.example.com": kindError{after: 3 * time.Hour}}}
	now := time.Now()
	New(&memStore{}, iss, []Source{specs([]string{"a.example.com"})}, nil, Options{Memory: mem}).RunOnce(context.Background())
	rec, _ := mem.Get("a.example.com")
	if rec.NeedsConfig || rec.NextAttempt.Sub(now) < 3*time.Hour-time.Minute {
		t.Fatalf("record %+v: want a transient failure retried after the CA's 3 h", rec)
	}
	if wait := rec.NextAttempt.Sub(now); wait > 3*time.Hour+time.Minute {
		t.Fatalf("waits %v, want the Retry-After", wait)
	}
}

func TestNextStep(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	renew := now.Add(30 * 24 * time.Hour)
	window := now.Add(72 * time.Minute)
	tests := []struct {
		name string
		d    Decision
		rec  Record
		want string
	}{
		{name: "missing", d: Decision{Reason: ReasonMissing, Urgency: UrgencyNow}, want: "issue now: certificate missing"},
		{name: "domains changed", d: Decision{Reason: ReasonDomainsChanged, Message: "a → a,b", Urgency: UrgencyNow}, want: "re-issue now: domains changed (a → a,b)"},
		{name: "key type", d: Decision{Reason: ReasonKeyTypeChanged, Message: "ec256 → rsa2048", Urgency: UrgencyNow}, want: "re-issue now: key type changed (ec256 → rsa2048)"},
		{name: "ARI", d: Decision{Reason: ReasonValid, RenewAt: renew, RenewBy: ReasonARIWindow}, want: "renew at 2027-01-03 12:00 UTC (ARI window)"},
		{name: "lifetime", d: Decision{Reason: ReasonValid, RenewAt: renew, RenewBy: ReasonRenewalWindow}, want: "renew at 2027-01-03 12:00 UTC (renewal window)"},
		{name: "due", d: Decision{Reason: ReasonRenewalWindow, Urgency: UrgencyDue, NextWindow: window}, want: "due, waiting for the maintenance window 2026-12-04 13:12 UTC (renewal window)"},
		{name: "backing off", d: Decision{Reason: ReasonMissing, Urgency: UrgencyNow},
			rec: Record{Failures: 2, NextAttempt: now.Add(time.Hour), LastError: "CA down"}, want: "backing off until 2026-12-04 13:00 UTC: CA down"},
		{name: "needs configuration", d: Decision{Reason: ReasonMissing, Urgency: UrgencyNow},
			rec: Record{Failures: 1, NeedsConfig: true, FailedConfig: "c", NextAttempt: now.Add(6 * time.Hour), LastError: "no token"}, want: "needs configuration: no token"},
		{name: "backoff over: retry", d: Decision{Reason: ReasonMissing, Urgency: UrgencyNow},
			rec: Record{Failures: 2, NextAttempt: now.Add(-time.Hour), LastError: "CA down"}, want: "issue now: certificate missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := NextStep(tt.d, tt.rec, "", "c", now)
			if !strings.HasPrefix(got, tt.want) {
				t.Fatalf("NextStep = %q, want %q", got, tt.want)
			}
		})
	}
}

// Status says what happens next with the same decision chain the
// controller acts on: a changed line is reported as re-issued now.
func TestStatusFollowsTheDecision(t *testing.T) {
	st := &memStore{}
	iss := &fakeIssuer{}
	lines := [][]string{{"a.example.com"}, {"b.example.com"}}
	src := SourceFunc(func(ctx context.Context) ([]cert.Spec, []error) { return specs(lines...)(ctx) })
	c := New(st, iss, []Source{src}, nil, Options{DefaultKeyType: cert.EC256})
	c.RunOnce(context.Background())
	lines = [][]string{{"a.example.com", "www.a.example.com"}, {"b.example.com"}}
	got, _ := c.Status(context.Background())
	if len(got) != 2 {
		t.Fatalf("status rows %+v", got)
	}
	if got[0].Name != "a.example.com" || !strings.HasPrefix(got[0].Next, "re-issue now: domains changed") {
		t.Fatalf("changed line: %q", got[0].Next)
	}
	if !strings.HasPrefix(got[1].Next, "renew at ") || got[1].Decision.Reason != ReasonValid {
		t.Fatalf("unchanged line: %q", got[1].Next)
	}
	res := c.RunOnce(context.Background())
	if len(res.Issued) != 1 || res.Issued[0] != "a.example.com" {
		t.Fatalf("the controller did not do what status said: %+v", res)
	}
}

// A failing certificate found valid and as wanted once its backoff is
// over (another process renewed it) ends its failure streak without an
// order.
func TestValidCertificateEndsAFailureStreak(t *testing.T) {
	mem := NewMemory()
	st := &memStore{}
	iss := &fakeIssuer{}
	src := []Source{specs([]string{"a.example.com"})}
	New(st, iss, src, nil, Options{Memory: mem, DefaultKeyType: cert.EC256}).RunOnce(context.Background())
	mem.Put("a.example.com", Record{Owned: true, Failures: 3, NextAttempt: time.Now().Add(-time.Minute), LastError: "CA down"})
	res := New(st, iss, src, nil, Options{Memory: mem, DefaultKeyType: cert.EC256}).RunOnce(context.Background())
	if len(res.Unchanged) != 1 || iss.orders.Load() != 1 {
		t.Fatalf("%+v, %d orders", res, iss.orders.Load())
	}
	if rec, _ := mem.Get("a.example.com"); rec.Failures != 0 || rec.LastError != "" {
		t.Fatalf("failure streak kept: %+v", rec)
	}
}
