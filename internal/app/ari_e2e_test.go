package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
)

// A cron-driven `run --once` (a new process each time) asks the CA for the
// renewal windows once, records them in state.json with their retry time,
// and asks nothing while they are fresh; a window Pebble really offers
// schedules the renewal ("ARI window" in status).
func TestARIWindowsPersistAcrossProcesses(t *testing.T) {
	w, ap := newProxiedWorld(t, "example.com")
	const n = 5
	w.writeDomains(t, "a.example.com\nb.example.com\nc.example.com\nd.example.com\ne.example.com\n")
	ctx := context.Background()
	runOnce := func() (ari int) {
		t.Helper()
		since := time.Now()
		a := w.build(t)
		if err := a.Serve(ctx, true); err != nil {
			t.Fatalf("run --once: %v\n%s", err, w.logs)
		}
		return ap.CountSince(since, testenv.EndpointRenewalInfo)
	}
	if got := runOnce(); got != 0 {
		t.Errorf("the issuing run asked for %d renewal windows, want 0 (the new certificates need none yet)", got)
	}
	if got := runOnce(); got != n {
		t.Errorf("the second run asked for %d renewal windows, want %d (one per certificate)", got, n)
	}
	if got := runOnce(); got != 0 {
		t.Errorf("a new process asked for %d renewal windows while the recorded ones are fresh, want 0", got)
	}
	a := w.build(t)
	certs, _ := a.Controller.Status(ctx)
	for _, cs := range certs {
		if cs.Record.ARI == nil || cs.Record.ARI.Err != "" || cs.Record.ARI.Start.IsZero() {
			t.Errorf("%s: recorded ARI answer %+v, want Pebble's window", cs.Name, cs.Record.ARI)
		}
		if cs.Decision.RenewBy != "ARI window" {
			t.Errorf("%s: renewal scheduled by %q, want the ARI window (%s)", cs.Name, cs.Decision.RenewBy, cs.Next)
		}
	}
}
