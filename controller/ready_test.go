package controller

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// readyObserver records what was on disk when Ready came.
type readyObserver struct {
	recObserver
	st      *memStore
	mu      sync.Mutex
	onReady []string
}

func (o *readyObserver) Ready() {
	names, _ := o.st.Names()
	o.mu.Lock()
	o.onReady = names
	o.mu.Unlock()
	o.recObserver.Ready()
}

// The daemon is ready only once its first pass is complete: every
// certificate of it issued (or failed, or deferred), not merely decided.
func TestReadyOnlyAfterTheFirstPassWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &memStore{}
		obs := &readyObserver{recObserver: recObserver{ready: map[string]bool{}}, st: st}
		iss := &fakeIssuer{delay: 2 * time.Second, failFor: map[string]error{"bad.example.com": kindError{}}}
		c := New(st, iss, []Source{specs([]string{"a.example.com", "www.a.example.com"}, []string{"b.example.com"}, []string{"bad.example.com"})}, nil, Options{Observer: obs})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		time.Sleep(time.Second)
		synctest.Wait()
		obs.mu.Lock()
		early := obs.readyCalls
		obs.mu.Unlock()
		if early != 0 {
			t.Fatal("ready while the first pass's issuances were running")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		obs.mu.Lock()
		calls, onDisk := obs.readyCalls, obs.onReady
		obs.mu.Unlock()
		if calls != 1 || len(onDisk) != 2 {
			t.Fatalf("ready %d times, with %v on disk; want once, with both good certificates", calls, onDisk)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
