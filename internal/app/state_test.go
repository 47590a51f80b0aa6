package app

import (
	"log/slog"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/store"
)

// countingSaver counts state saves and keeps the last one.
type countingSaver struct {
	saves atomic.Int32
	last  atomic.Pointer[store.State]
}

func (c *countingSaver) SaveState(s *store.State) error {
	c.saves.Add(1)
	cp := store.NewState()
	for k, v := range s.Lineages {
		l := *v
		cp.Lineages[k] = &l
	}
	c.last.Store(cp)
	return nil
}

func TestStateMemoryDeferSavesOnce(t *testing.T) {
	saver := &countingSaver{}
	m := &stateMemory{store: saver, log: slog.New(slog.DiscardHandler), state: store.NewState()}
	m.Put("a.example.com", controller.Record{Owned: true})
	if n := saver.saves.Load(); n != 1 {
		t.Fatalf("%d saves for one Put, want 1", n)
	}
	done := m.Defer()
	inner := m.Defer()
	for _, n := range []string{"b.example.com", "c.example.com", "d.example.com"} {
		m.Put(n, controller.Record{Owned: true, LastWanted: time.Now()})
	}
	m.Delete("a.example.com")
	inner()
	inner() // a second call is a no-op
	if n := saver.saves.Load(); n != 1 {
		t.Fatalf("saved %d times while deferred", n-1)
	}
	done()
	if n := saver.saves.Load(); n != 2 {
		t.Fatalf("%d saves in all, want 2 (one for the deferred changes)", n)
	}
	last := saver.last.Load()
	if len(last.Lineages) != 3 || last.Lineages["a.example.com"] != nil {
		t.Fatalf("saved state %v", last.Lineages)
	}
	m.Defer()() // nothing changed: nothing saved
	if n := saver.saves.Load(); n != 2 {
		t.Fatalf("an empty deferral saved (%d saves)", n)
	}
}

// A record survives the state file: a new process reads back what the
// last one put, deliveries and ARI answer included.
func TestStateMemoryRoundTrip(t *testing.T) {
	saver := &countingSaver{}
	m := &stateMemory{store: saver, log: slog.New(slog.DiscardHandler), state: store.NewState()}
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	want := controller.Record{
		Owned: true, Source: "service web", LastWanted: now,
		ARI: &controller.ARIRecord{Serial: "42", Start: now, End: now.Add(time.Hour), Fetched: now},
		Deliveries: []controller.DeliveryRecord{
			{Service: "api", Version: 2, Error: "update paused: task failed", Since: now},
			{Service: "web", Version: 3, Since: now.Add(time.Minute)},
		},
	}
	m.Put("example.com", want)
	fresh := &stateMemory{store: saver, log: slog.New(slog.DiscardHandler), state: saver.last.Load()}
	got, ok := fresh.Get("example.com")
	if !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, want %+v", got, want)
	}
}
