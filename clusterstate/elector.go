package clusterstate

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// ErrStale is what a LeaseStore's WriteLease wraps when the lease changed
// since it was read (Swarm's "update out of sequence").
var ErrStale = errors.New("lease changed since it was read")

// LeaseStore keeps the lease record; in a swarm, the labels of one config.
type LeaseStore interface {
	// ReadLease returns the record and the version index it was read at,
	// creating a free lease when there is none.
	ReadLease(ctx context.Context) (Lease, uint64, error)
	// WriteLease writes l if the record is still at index; an error
	// wrapping ErrStale when it is not.
	WriteLease(ctx context.Context, l Lease, index uint64) error
}

// Elector takes part in the election for the one active controller: it
// watches the lease, takes it when it is free or expired, renews it while
// it holds it, and says whether this process may act now. A holder whose
// renewals fail stops acting at ActingUntil of its last successful write,
// before any contender can take the lease.
type Elector struct {
	store LeaseStore
	id    string
	ttl   time.Duration
	poll  time.Duration
	now   func() time.Time
	log   *slog.Logger

	mu      sync.Mutex
	term    uint64
	until   time.Time // acting until (zero: not holding)
	changed chan struct{}
}

// ElectorOptions configure an Elector; zero values take defaults.
type ElectorOptions struct {
	// ID names this process in the lease (a node and process identity,
	// unique among contenders).
	ID string
	// TTL is the lease's lifetime without renewal (DefaultTTL).
	TTL time.Duration
	// Poll is how often a contender looks at the lease (DefaultPoll).
	Poll time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Logger receives transitions (nil discards them).
	Logger *slog.Logger
}

// NewElector returns an Elector for store.
func NewElector(store LeaseStore, opts ElectorOptions) *Elector {
	e := &Elector{store: store, id: opts.ID, ttl: opts.TTL, poll: opts.Poll, now: opts.Now, log: opts.Logger, changed: make(chan struct{})}
	if e.ttl <= 0 {
		e.ttl = DefaultTTL
	}
	if e.poll <= 0 {
		e.poll = DefaultPoll
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e
}

// Acting reports whether this process holds the lease and may act now,
// and the term it holds.
func (e *Elector) Acting() (term uint64, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.until.IsZero() || !e.now().Before(e.until) {
		return 0, false
	}
	return e.term, true
}

// Changed returns a channel closed at the next change of Acting's answer
// that the elector notices (taking the lease, losing it, or its renewal
// deadline passing).
func (e *Elector) Changed() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

// Run takes part until ctx ends, then releases the lease if it holds it
// (so another takes over at once rather than after a TTL).
func (e *Elector) Run(ctx context.Context) error {
	var obs Observed
	for {
		wait := e.step(ctx, &obs)
		e.expire()
		select {
		case <-ctx.Done():
			e.release(&obs)
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// step reads the lease, writes it when it should, and returns how long to
// wait before the next step.
func (e *Elector) step(parent context.Context, obs *Observed) time.Duration {
	// A partitioned manager may hold a call until it times out: bound
	// each so the loop keeps noticing its deadline.
	ctx, cancel := context.WithTimeout(parent, e.ttl/3)
	defer cancel()
	l, index, err := e.store.ReadLease(ctx)
	if err != nil {
		if parent.Err() == nil {
			e.log.Warn("reading the swarm lease failed", "err", err)
		}
		return e.retryWait()
	}
	now := e.now()
	*obs = Observe(*obs, l, index, now)
	step, next := Next(e.id, *obs, now)
	if step == Wait {
		if _, ok := e.Acting(); ok && l.Holder != e.id {
			// Someone else holds it (this process's writes were lost).
			e.set(0, time.Time{}, "lost", l.Holder)
		}
		return next.Sub(now)
	}
	want := Taken(e.id, *obs, e.ttl)
	sent := e.now()
	if err := e.store.WriteLease(ctx, want, index); err != nil {
		if errors.Is(err, ErrStale) {
			// Another wrote first: look again at once.
			return 0
		}
		if parent.Err() == nil {
			e.log.Warn("writing the swarm lease failed", "err", err, "step", step.String())
		}
		return e.retryWait()
	}
	// The write took effect: Observe will see a new index next time.
	obs.Lease = want
	e.set(want.Term, ActingUntil(sent, e.ttl), step.String(), e.id)
	return e.ttl / 3
}

// retryWait is the pause after a failed read or write: short enough that
// a holder retries several times before its deadline.
func (e *Elector) retryWait() time.Duration {
	return min(e.poll, e.ttl/6)
}

// expire notices that the acting deadline has passed.
func (e *Elector) expire() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.until.IsZero() && !e.now().Before(e.until) {
		e.log.Warn("stopped acting: the swarm lease could not be renewed in time", "term", e.term)
		e.until = time.Time{}
		close(e.changed)
		e.changed = make(chan struct{})
	}
}

func (e *Elector) set(term uint64, until time.Time, why, holder string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	was := !e.until.IsZero() && e.now().Before(e.until)
	e.term, e.until = term, until
	is := !until.IsZero()
	if was != is {
		switch {
		case is:
			e.log.Info("holding the swarm lease: this certdock is the active one", "term", term, "step", why)
		case why == "release":
			e.log.Info("releasing the swarm lease")
		default:
			e.log.Warn("another certdock holds the swarm lease: this one stops acting", "holder", holder)
		}
		close(e.changed)
		e.changed = make(chan struct{})
	}
}

// release frees the lease on the way out, if this process holds it.
func (e *Elector) release(obs *Observed) {
	if _, ok := e.Acting(); !ok {
		return
	}
	e.set(0, time.Time{}, "release", "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, index, err := e.store.ReadLease(ctx)
	if err != nil || l.Holder != e.id {
		return
	}
	free := Lease{Term: l.Term, TTL: l.TTL}
	if err := e.store.WriteLease(ctx, free, index); err != nil {
		e.log.Warn("releasing the swarm lease failed; another takes over when it expires", "err", err)
		return
	}
	e.log.Info("released the swarm lease", "term", l.Term)
}
