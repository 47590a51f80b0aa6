package controller

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/certdock/certdock/cert"
)

// recordIssuer is a fakeIssuer that checks DNS records first: a name in
// missing waits for its record.
type recordIssuer struct {
	fakeIssuer
	rmu     sync.Mutex
	missing map[string]bool
	checks  int
}

func (r *recordIssuer) CheckRecords(_ context.Context, s cert.Spec) error {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.checks++
	if r.missing[s.Name] {
		return &WaitingError{
			Problems: []string{"_validation-persist." + s.Name + " has no dns-persist-01 record for ca.example"},
			Records:  []string{"_validation-persist." + s.Name + `. IN TXT "ca.example; accounturi=https://ca.example/acct/1"`},
		}
	}
	return nil
}

func (r *recordIssuer) setMissing(name string, m bool) {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.missing[name] = m
}

// TestWaitingForRecordAsksDNSNotTheCA: a certificate whose record is
// missing is not ordered; it is checked again every RecordPoll (DNS
// only), shown as waiting with the record to create, and ordered once the
// record is there; the other certificates proceed meanwhile.
func TestWaitingForRecordAsksDNSNotTheCA(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := NewMemory()
		iss := &recordIssuer{missing: map[string]bool{"a.example.com": true}}
		src := specs([]string{"a.example.com"}, []string{"b.example.com"})
		c := New(&memStore{}, iss, []Source{src}, nil, Options{Memory: mem, RecordPoll: time.Minute})
		res := c.RunOnce(context.Background())
		var we *WaitingError
		if !errors.As(res.Failed["a.example.com"], &we) || !slices.Equal(res.Issued, []string{"b.example.com"}) {
			t.Fatalf("RunOnce = %+v", res)
		}
		if n := iss.orders.Load(); n != 1 {
			t.Fatalf("%d orders, want 1 (b only)", n)
		}
		rec, _ := mem.Get("a.example.com")
		if len(rec.WaitingRecords) != 1 || rec.NeedsConfig || !rec.NextAttempt.Equal(time.Now().Add(time.Minute)) {
			t.Fatalf("record %+v", rec)
		}
		next, at := NextStep(Decision{Reason: ReasonMissing, Urgency: UrgencyNow}, rec, specTag(cert.Spec{Name: "a.example.com", Domains: []string{"a.example.com"}}), "", time.Now())
		if !strings.HasPrefix(next, "waiting for DNS record: _validation-persist.a.example.com has no dns-persist-01 record") || !at.Equal(rec.NextAttempt) {
			t.Fatalf("NextStep = %q, %v", next, at)
		}

		// The daemon checks DNS once a minute and never asks the CA.
		stop := runDaemon(t, c)
		time.Sleep(5*time.Minute + 30*time.Second)
		iss.rmu.Lock()
		checks := iss.checks
		iss.rmu.Unlock()
		if n := iss.orders.Load(); n != 1 {
			t.Fatalf("%d orders while waiting, want none more", n)
		}
		if checks < 5 || checks > 8 {
			t.Fatalf("%d DNS checks in 5.5 minutes, want about one a minute", checks)
		}
		// The record appears: ordered at the next check.
		iss.setMissing("a.example.com", false)
		time.Sleep(time.Minute)
		stop()
		if n := iss.orders.Load(); n != 2 {
			t.Fatalf("%d orders after the record appeared, want 2", n)
		}
		if rec, _ := mem.Get("a.example.com"); rec.Failures != 0 || rec.WaitingRecords != nil {
			t.Fatalf("record after issuance %+v", rec)
		}
	})
}
