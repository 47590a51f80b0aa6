package controller

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certdock/certdock/cert"
)

// Options tune a Controller; zero values get defaults.
type Options struct {
	// Workers bounds concurrent issuances (default 8).
	Workers int
	// DefaultKeyType is the key type of specs that name none.
	DefaultKeyType cert.KeyType
	// Profile is the ACME profile of specs that name none.
	Profile string
	// Interval is the daemon's full re-check period (default 1 h).
	Interval time.Duration
	// Quiet, MaxDelay and MinInterval coalesce triggers (events, file
	// changes): a pass starts once no trigger came for Quiet, or MaxDelay
	// after the first trigger, but never sooner than MinInterval after the
	// previous pass started. Defaults 100 ms, 1 s and 3 s: a single
	// `docker run` is served within ~100 ms, while a storm (`docker stack
	// deploy`, `compose up` of many services) causes one pass every 3 s.
	Quiet, MaxDelay, MinInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Backoff gives the wait after the n-th consecutive transient failure
	// (default 1 min doubling to 6 h).
	Backoff func(n int) time.Duration
	// ConfigRetry is the slow schedule of certificates failing for a
	// configuration error (default 6 h); a changed configuration retries
	// them at once.
	ConfigRetry time.Duration
	// RecordPoll is how often a certificate waiting for its DNS records
	// (dns-persist-01) is checked again (default DefaultRecordPoll).
	RecordPoll time.Duration
	// ConfigTag fingerprints the configuration issuance depends on
	// (provider and its settings, CA): a certificate that failed for a
	// configuration error under another tag is retried at once.
	ConfigTag string
	// Logger receives the controller's logs.
	Logger *slog.Logger

	// Memory persists failures, ownership and ARI windows across
	// restarts (default: in process memory only).
	Memory Memory
	// Locker serialises work on one certificate (default: in process).
	Locker Locker
	// Deployer, Notifier and Observer are optional.
	Deployer Deployer
	// Deliverer delivers certificates as Swarm secrets. Without it, a
	// certificate that asks for such a delivery is reported as not
	// delivered (the volume still gets it).
	Deliverer Deliverer
	Notifier  Notifier
	Observer  Observer
	// RevokeRemoved revokes every still-valid version of a lineage
	// removed from domains.conf before deleting it.
	RevokeRemoved bool
	// LabelGrace is how long a certificate only labels wanted is kept
	// after the last workload stopped wanting it (default 7 days).
	LabelGrace time.Duration
	// Window returns the next maintenance tick after a time
	// (CRON_TIME_STRING); nil means no maintenance window: due
	// certificates are renewed at once.
	Window func(after time.Time) time.Time
}

// Controller keeps the desired certificates issued.
type Controller struct {
	store   Store
	issuer  Issuer
	sources []Source
	actor   Actor
	opts    Options
	log     *slog.Logger

	trigger chan struct{}
	kick    chan struct{} // wakes the action loop
	passes  atomic.Int64
	urgent  atomic.Bool // a TriggerNow is pending

	recMu sync.Mutex // serialises read-modify-write of Records

	mu       sync.Mutex
	desired  map[string]cert.Spec
	intents  map[string]intent  // why each queued name was queued
	pending  []string           // names changed since actions last ran
	results  map[string]outcome // a one-shot run's outcomes, nil in the daemon
	reported map[string]bool
	// problems are the source problems of the last pass; passed: a pass
	// has computed the desired set (Current).
	problems []error
	passed   bool
	noted    map[string]wantedNote // recordWanted's memory; used by passes only
	// delivering: the last delivery run had deliveries to make.
	delivering bool
	// deliveryNames are the certificates whose deliveries the last
	// delivery run recorded; nil before the first.
	deliveryNames map[string]bool
}

// New builds a Controller. actor may be nil (no Docker): actions are then
// reported as skipped.
func New(store Store, issuer Issuer, sources []Source, actor Actor, opts Options) *Controller {
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Hour
	}
	if opts.Quiet <= 0 {
		opts.Quiet = 100 * time.Millisecond
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = time.Second
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = 3 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Backoff == nil {
		opts.Backoff = DefaultBackoff
	}
	if opts.RecordPoll <= 0 {
		opts.RecordPoll = DefaultRecordPoll
	}
	if opts.ConfigRetry <= 0 {
		opts.ConfigRetry = 6 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Memory == nil {
		opts.Memory = NewMemory()
	}
	if opts.Locker == nil {
		opts.Locker = newLocalLocker()
	}
	if opts.LabelGrace <= 0 {
		opts.LabelGrace = 7 * 24 * time.Hour
	}
	return &Controller{
		store: store, issuer: issuer, sources: sources, actor: actor, opts: opts,
		log:     opts.Logger,
		trigger: make(chan struct{}, 1),
		kick:    make(chan struct{}, 1),
		desired: map[string]cert.Spec{},
		intents: map[string]intent{},
	}
}

// DefaultBackoff waits 1 min after the first failure, doubling up to 6 h.
func DefaultBackoff(n int) time.Duration {
	d := time.Minute
	for i := 1; i < n && d < 6*time.Hour; i++ {
		d *= 2
	}
	return min(d, 6*time.Hour)
}

// update applies fn to a certificate's Record and stores it; all writes of
// Records go through it, so concurrent decisions and syncs of one name
// never lose each other's changes.
func (c *Controller) update(name string, fn func(r *Record)) Record {
	c.recMu.Lock()
	defer c.recMu.Unlock()
	r, _ := c.opts.Memory.Get(name)
	fn(&r)
	c.opts.Memory.Put(name, r)
	return r
}

// localLocker serialises work on one name within the process.
type localLocker struct {
	mu    sync.Mutex
	locks map[string]chan struct{}
}

func newLocalLocker() *localLocker { return &localLocker{locks: map[string]chan struct{}{}} }

// Lock implements Locker.
func (l *localLocker) Lock(ctx context.Context, name string) (func(), error) {
	l.mu.Lock()
	ch, ok := l.locks[name]
	if !ok {
		ch = make(chan struct{}, 1)
		l.locks[name] = ch
	}
	l.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
