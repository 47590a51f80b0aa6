package controller

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A new process with the same state asks the CA for no renewal window
// while the recorded ones are fresh; the CA's Retry-After sets when to
// ask again.
func TestARIWindowsArePersisted(t *testing.T) {
	mem := NewMemory()
	st := &memStore{}
	now := time.Now()
	iss := &fakeIssuer{ari: &Window{Start: now.Add(50 * 24 * time.Hour), End: now.Add(52 * 24 * time.Hour), RetryAfter: 3 * time.Hour}}
	src := []Source{specs([]string{"a.example.com"}, []string{"b.example.com"})}
	New(st, iss, src, nil, Options{Memory: mem}).RunOnce(context.Background())
	res := New(st, iss, src, nil, Options{Memory: mem}).RunOnce(context.Background())
	if len(res.Unchanged) != 2 || iss.ariCalls != 2 {
		t.Fatalf("second run: %+v, %d ARI lookups (want one per certificate, in the first run)", res, iss.ariCalls)
	}
	for _, n := range []string{"a.example.com", "b.example.com"} {
		rec, _ := mem.Get(n)
		if rec.ARI == nil || !rec.ARI.Start.Equal(iss.ari.Start) || rec.ARI.NextFetch.Sub(rec.ARI.Fetched) != 3*time.Hour {
			t.Fatalf("%s: ARI record %+v", n, rec.ARI)
		}
	}
	// Once the answer is stale, the CA is asked again.
	later := now.Add(4 * time.Hour)
	New(st, iss, src, nil, Options{Memory: mem, Now: func() time.Time { return later }}).RunOnce(context.Background())
	if iss.ariCalls != 4 {
		t.Fatalf("%d ARI lookups after the Retry-After passed, want 4", iss.ariCalls)
	}
}

func TestNextARI(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	win := Window{Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)}
	prev := &ARIRecord{Serial: "1", Start: win.Start, End: win.End, Fetched: now.Add(-time.Hour)}
	tests := []struct {
		name       string
		prev       *ARIRecord
		w          Window
		err        error
		wantStart  time.Time
		wantNext   time.Duration
		wantErrSet bool
	}{
		{name: "answer without Retry-After", w: win, wantStart: win.Start, wantNext: ariDefaultRefresh},
		{name: "answer with Retry-After", w: Window{Start: win.Start, End: win.End, RetryAfter: 2 * time.Hour}, wantStart: win.Start, wantNext: 2 * time.Hour},
		{name: "Retry-After capped", w: Window{Start: win.Start, End: win.End, RetryAfter: 90 * 24 * time.Hour}, wantStart: win.Start, wantNext: ariMaxRefresh},
		{name: "no ARI at this CA", err: ErrNoWindow, wantNext: ariNoWindowRetry},
		{name: "error keeps the window and the CA's Retry-After", prev: prev, err: kindError{after: 30 * time.Minute}, wantStart: win.Start, wantNext: 30 * time.Minute, wantErrSet: true},
		{name: "error without Retry-After", err: errors.New("connection refused"), wantNext: ariErrorRetry, wantErrSet: true},
		{name: "error for another certificate keeps nothing", prev: &ARIRecord{Serial: "2", Start: win.Start}, err: errors.New("x"), wantNext: ariErrorRetry, wantErrSet: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nextARI(tt.prev, "1", tt.w, tt.err, now)
			if !got.Start.Equal(tt.wantStart) || got.NextFetch.Sub(now) != tt.wantNext || (got.Err != "") != tt.wantErrSet || got.Serial != "1" {
				t.Fatalf("nextARI = %+v", got)
			}
		})
	}
}
