package clusterstate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// memLease is a LeaseStore in memory, shared by the electors of a test,
// with a version index raised by every write as Swarm's is.
type memLease struct {
	mu    sync.Mutex
	l     Lease
	index uint64
}

func (m *memLease) ReadLease(context.Context) (Lease, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.index == 0 {
		m.index, m.l = 1, Lease{TTL: DefaultTTL}
	}
	return m.l, m.index, nil
}

func (m *memLease) WriteLease(_ context.Context, l Lease, index uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if index != m.index {
		return fmt.Errorf("index %d, at %d: %w", index, m.index, ErrStale)
	}
	m.l = l
	m.index++
	return nil
}

// cutStore fails every call once cut: the holder's manager lost quorum,
// is partitioned, or its daemon is gone.
type cutStore struct {
	LeaseStore
	mu  sync.Mutex
	cut bool
}

var errCut = errors.New("manager unreachable")

func (c *cutStore) setCut(v bool) { c.mu.Lock(); c.cut = v; c.mu.Unlock() }
func (c *cutStore) isCut() bool   { c.mu.Lock(); defer c.mu.Unlock(); return c.cut }

func (c *cutStore) ReadLease(ctx context.Context) (Lease, uint64, error) {
	if c.isCut() {
		return Lease{}, 0, errCut
	}
	return c.LeaseStore.ReadLease(ctx)
}

func (c *cutStore) WriteLease(ctx context.Context, l Lease, index uint64) error {
	if c.isCut() {
		return errCut
	}
	return c.LeaseStore.WriteLease(ctx, l, index)
}

// contender is one elector of a test with its own view of the store.
type contender struct {
	e      *Elector
	store  *cutStore
	cancel context.CancelFunc
	done   chan struct{}
}

func start(t *testing.T, shared LeaseStore, id string) *contender {
	c := &contender{store: &cutStore{LeaseStore: shared}, done: make(chan struct{})}
	c.e = NewElector(c.store, ElectorOptions{ID: id})
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() { c.e.Run(ctx); close(c.done) }()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

// watchActing samples who acts every 100ms until stop, failing t if two
// act at once, and returns when each began and ceased acting.
func watchActing(t *testing.T, cs map[string]*contender, stop <-chan struct{}) map[string][]time.Time {
	changes := map[string][]time.Time{}
	acting := map[string]bool{}
	for {
		n := 0
		for id, c := range cs {
			_, ok := c.e.Acting()
			if ok {
				n++
			}
			if ok != acting[id] {
				acting[id] = ok
				changes[id] = append(changes[id], time.Now())
			}
		}
		if n > 1 {
			t.Errorf("%d controllers act at once at %v", n, time.Now())
		}
		select {
		case <-stop:
			return changes
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestElectorOneHolderAndTakeover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := &memLease{}
		a := start(t, shared, "a")
		time.Sleep(time.Second)
		if term, ok := a.e.Acting(); !ok || term != 1 {
			t.Fatalf("a alone: acting %v term %d, want term 1", ok, term)
		}
		b := start(t, shared, "b")
		stop := make(chan struct{})
		var changes map[string][]time.Time
		watched := make(chan struct{})
		go func() {
			changes = watchActing(t, map[string]*contender{"a": a, "b": b}, stop)
			close(watched)
		}()

		// a holds through a minute of renewals; b waits.
		time.Sleep(time.Minute)
		if _, ok := b.e.Acting(); ok {
			t.Fatal("b acts while a renews")
		}

		// a's manager becomes unreachable: a stops acting before b takes
		// over, and b takes over within TTL plus a poll or two.
		cutAt := time.Now()
		a.store.setCut(true)
		time.Sleep(time.Minute)
		close(stop)
		<-watched
		if len(changes["a"]) != 2 || len(changes["b"]) != 1 {
			t.Fatalf("acting changes: a %v, b %v", changes["a"], changes["b"])
		}
		aStopped, bStarted := changes["a"][1], changes["b"][0]
		if !aStopped.Before(bStarted) {
			t.Fatalf("a stopped at %v, b started at %v", aStopped, bStarted)
		}
		takeover := bStarted.Sub(cutAt)
		t.Logf("a stopped acting %v after the cut; b took over after %v", aStopped.Sub(cutAt), takeover)
		if takeover > DefaultTTL+2*DefaultPoll {
			t.Fatalf("takeover took %v, bound %v", takeover, DefaultTTL+2*DefaultPoll)
		}
		if term, _ := b.e.Acting(); term != 2 {
			t.Fatalf("b's term %d, want 2", term)
		}

		// a comes back: it sees b's lease and does not act.
		a.store.setCut(false)
		time.Sleep(30 * time.Second)
		if _, ok := a.e.Acting(); ok {
			t.Fatal("a acts again after its manager came back")
		}
	})
}

func TestElectorReleaseOnShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := &memLease{}
		a := start(t, shared, "a")
		time.Sleep(time.Second)
		b := start(t, shared, "b")
		time.Sleep(time.Second)
		if _, ok := a.e.Acting(); !ok {
			t.Fatal("a does not act")
		}
		a.cancel()
		<-a.done
		stopped := time.Now()
		for {
			if _, ok := b.e.Acting(); ok {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if d := time.Since(stopped); d > DefaultPoll+time.Second {
			t.Fatalf("b took over %v after a released the lease, want within a poll", d)
		}
	})
}

func TestElectorChanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := &memLease{}
		c := &cutStore{LeaseStore: shared}
		e := NewElector(c, ElectorOptions{ID: "a"})
		ch := e.Changed()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go e.Run(ctx)
		<-ch
		if _, ok := e.Acting(); !ok {
			t.Fatal("Changed closed, but not acting")
		}
		ch = e.Changed()
		c.setCut(true)
		<-ch
		if _, ok := e.Acting(); ok {
			t.Fatal("Changed closed after the cut, but still acting")
		}
	})
}
