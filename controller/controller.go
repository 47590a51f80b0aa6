package controller

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certdock/certdock/cert"
)

// Issuer obtains certificates.
type Issuer interface {
	Issue(ctx context.Context, spec cert.Spec) (cert.Bundle, cert.IssueMeta, error)
	// Server is the configured ACME directory URL.
	Server() string
}

// Store reads and writes lineages.
type Store interface {
	// Load returns the current version; an error wrapping fs.ErrNotExist
	// when there is none.
	Load(name string) (*cert.Lineage, error)
	// Save writes a new version completely before it becomes live.
	Save(name string, b cert.Bundle, meta cert.IssueMeta) (*cert.Lineage, error)
}

// Source produces desired certificates. Problems (bad lines, bad labels)
// are reported alongside the specs that are still served.
type Source interface {
	Desired(ctx context.Context) (specs []cert.Spec, problems []error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) ([]cert.Spec, []error)

// Desired implements Source.
func (f SourceFunc) Desired(ctx context.Context) ([]cert.Spec, []error) { return f(ctx) }

// Actor performs the actions of changed certificates (restart, signal,
// exec). It gets each target at most once per call.
type Actor interface {
	Act(ctx context.Context, actions []cert.Action) []error
}

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
	// Backoff gives the wait after the n-th consecutive failure
	// (default 1 min doubling to 6 h).
	Backoff func(n int) time.Duration
	// Logger receives the controller's logs.
	Logger *slog.Logger

	// Memory persists failures and ownership across restarts (default:
	// in process memory only).
	Memory Memory
	// Deployer, Notifier, Locker and Remover are optional.
	Deployer Deployer
	Notifier Notifier
	Locker   Locker
	Remover  Remover
	// RevokeRemoved revokes (when the issuer can) a lineage removed from
	// domains.conf before deleting it.
	RevokeRemoved bool
	// LabelGrace is how long a certificate only labels wanted is kept
	// after the last workload stopped wanting it (default 7 days).
	LabelGrace time.Duration
	// Window returns the next maintenance tick after a time
	// (CRON_TIME_STRING); nil means no maintenance window: due
	// certificates are renewed at once.
	Window func(after time.Time) time.Time
	// Observer, when set, is told about issuances, passes and
	// certificate states (metrics).
	Observer Observer
	// ARI returns the CA's suggested renewal window for a certificate,
	// ok false when the CA offers none.
	ARI func(ctx context.Context, leaf *x509.Certificate) (start, end time.Time, ok bool)
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

	passes atomic.Int64
	now    atomic.Bool // a TriggerNow is pending

	mu         sync.Mutex
	desired    map[string]cert.Spec
	failedSpec map[string]cert.Spec // the spec of each certificate's last failure
	pending    []string             // names changed since the queue was last idle
	reported   map[string]bool
	ari        map[string]ariEntry // by certificate serial
	allowDue   map[string]bool     // queued by a maintenance tick: merely due is enough
}

type ariEntry struct {
	start, end time.Time
	ok         bool
	fetched    time.Time
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
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Memory == nil {
		opts.Memory = NewMemory()
	}
	if opts.LabelGrace <= 0 {
		opts.LabelGrace = 7 * 24 * time.Hour
	}
	return &Controller{
		store: store, issuer: issuer, sources: sources, actor: actor, opts: opts,
		log:        opts.Logger,
		trigger:    make(chan struct{}, 1),
		desired:    map[string]cert.Spec{},
		failedSpec: map[string]cert.Spec{},
		allowDue:   map[string]bool{},
		ari:        map[string]ariEntry{},
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

// Result summarises one pass.
type Result struct {
	Issued    []string
	Unchanged []string
	Failed    map[string]error
	// Problems are source problems (bad lines, conflicts): the other
	// certificates were still served.
	Problems []error
}

// Err is non-nil when any certificate failed or any source problem was
// reported.
func (r Result) Err() error {
	var errs []error
	errs = append(errs, r.Problems...)
	for _, name := range slices.Sorted(maps.Keys(r.Failed)) {
		errs = append(errs, fmt.Errorf("%s: %w", name, r.Failed[name]))
	}
	return errors.Join(errs...)
}

// Desired merges every source into one set keyed by lineage name. The
// first source to define a name wins; a later definition with different
// domains is reported as a conflict, one with the same domains adds its
// actions. Specs without domains are subscriptions: their actions join the
// certificate of that name, wherever it is defined.
func (c *Controller) Desired(ctx context.Context) (map[string]cert.Spec, []error) {
	c.passes.Add(1)
	out := map[string]cert.Spec{}
	var problems []error
	var subs []cert.Spec
	for _, s := range c.sources {
		specs, probs := s.Desired(ctx)
		problems = append(problems, probs...)
		for _, sp := range specs {
			if len(sp.Domains) == 0 {
				subs = append(subs, sp)
				continue
			}
			if sp.Profile == "" {
				sp.Profile = c.opts.Profile
			}
			prev, dup := out[sp.Name]
			switch {
			case !dup:
				out[sp.Name] = sp
			case cert.SameDomains(prev.Domains, sp.Domains):
				prev.Actions = append(slices.Clip(prev.Actions), sp.Actions...)
				out[sp.Name] = prev
			default:
				problems = append(problems, fmt.Errorf("%s: certificate %q conflicts with %s (%s); keeping the latter",
					sp.Source, sp.Name, prev.Source, strings.Join(prev.Domains, " ")))
			}
		}
	}
	for _, sub := range subs {
		target, ok := out[sub.Name]
		if !ok {
			problems = append(problems, fmt.Errorf("%s: subscribes to certificate %q, which nothing defines", sub.Source, sub.Name))
			continue
		}
		target.Actions = append(slices.Clip(target.Actions), sub.Actions...)
		out[sub.Name] = target
	}
	return out, problems
}

// Passes returns how many times the desired set was computed (one per
// pass), for tests and benchmarks of event coalescing.
func (c *Controller) Passes() int64 { return c.passes.Load() }

// decide loads the current lineage and runs the policy chain.
func (c *Controller) decide(ctx context.Context, spec cert.Spec) Decision {
	d, _ := c.decideLoad(ctx, spec)
	return d
}

// decideLoad is decide that also returns the current lineage (nil when
// there is none or it is unreadable).
func (c *Controller) decideLoad(ctx context.Context, spec cert.Spec) (Decision, *cert.Lineage) {
	cur, err := c.store.Load(spec.Name)
	now := c.opts.Now()
	in := Input{
		Spec: spec, Current: cur, LoadErr: err, Now: now,
		Server: c.issuer.Server(), DefaultKeyType: c.opts.DefaultKeyType,
	}
	if c.opts.Window != nil {
		in.NextWindow = c.opts.Window(now)
	}
	if err == nil && cur != nil && cur.Leaf != nil {
		in.ARIStart, in.ARIEnd = c.ariWindow(ctx, cur)
	}
	if err != nil {
		cur = nil
	}
	return Decide(in), cur
}

// ariWindow returns the CA's renewal window for the lineage's certificate,
// asking the CA at most every 6 hours per certificate.
func (c *Controller) ariWindow(ctx context.Context, cur *cert.Lineage) (time.Time, time.Time) {
	if c.opts.ARI == nil {
		return time.Time{}, time.Time{}
	}
	serial := cur.Leaf.SerialNumber.String()
	c.mu.Lock()
	e, ok := c.ari[serial]
	c.mu.Unlock()
	if !ok || time.Since(e.fetched) > 6*time.Hour {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		start, end, ok := c.opts.ARI(actx, cur.Leaf)
		cancel()
		e = ariEntry{start: start, end: end, ok: ok, fetched: time.Now()}
		c.mu.Lock()
		c.ari[serial] = e
		c.mu.Unlock()
	}
	if !e.ok {
		return time.Time{}, time.Time{}
	}
	return e.start, e.end
}

// process re-checks one certificate and issues it when needed. It
// returns whether a new version was written.
func (c *Controller) process(ctx context.Context, spec cert.Spec, force, allowDue, daemon bool) (bool, error) {
	log := c.log.With("cert", spec.Name)
	if !force && c.opts.Locker != nil {
		// Most certificates need nothing: find that out without the
		// cross-process lock (a no-op pass over a thousand certificates
		// then takes no locks), and decide again under it otherwise.
		if d, _ := c.decideLoad(ctx, spec); !d.Issue {
			log.Debug("nothing to do", "reason", d.Reason)
			return false, nil
		}
	}
	if c.opts.Locker != nil {
		unlock, err := c.opts.Locker.Lock(ctx, spec.Name)
		if err != nil {
			return false, fmt.Errorf("lock: %w", err)
		}
		defer unlock()
	}
	if daemon {
		// The desired set may have changed while this certificate waited
		// in the queue or for its lock: a lineage pruned meanwhile must not
		// be issued again.
		c.mu.Lock()
		_, wanted := c.desired[spec.Name]
		c.mu.Unlock()
		if !wanted {
			return false, errNotWanted
		}
	}
	// Decide after taking the lock: another process may just have renewed.
	d, cur := c.decideLoad(ctx, spec)
	if force && !d.Issue {
		d = Decision{Issue: true, Reason: "renewal forced"}
	}
	if !d.Issue {
		log.Debug("nothing to do", "reason", d.Reason)
		return false, nil
	}
	if !d.Urgent && !allowDue {
		log.Debug("due; waiting for the maintenance window", "reason", d.Reason)
		return false, nil
	}
	log.Info("issuing certificate", "domains", spec.Domains, "reason", d.Reason)
	start := time.Now()
	var (
		b    cert.Bundle
		meta cert.IssueMeta
		err  error
	)
	if cur != nil && spec.KeyType == "" && c.opts.DefaultKeyType == "" {
		// No key type was asked for: a renewal keeps the lineage's own
		// (e.g. RSA for a lineage adopted from certbot).
		spec.KeyType = cur.KeyType
	}
	if r, ok := c.issuer.(Renewer); ok && cur != nil {
		b, meta, err = r.Renew(ctx, spec, cur)
	} else {
		b, meta, err = c.issuer.Issue(ctx, spec)
	}
	if c.opts.Observer != nil {
		c.opts.Observer.Issued(spec.Name, time.Since(start), err)
	}
	if err != nil {
		return false, fmt.Errorf("issue: %w", err)
	}
	lin, err := c.store.Save(spec.Name, b, meta)
	if err != nil {
		return false, fmt.Errorf("save: %w", err)
	}
	log.Info("certificate issued", "domains", lin.Domains, "version", lin.Version,
		"not_after", lin.NotAfter.UTC().Format(time.RFC3339), "took", time.Since(start).Round(time.Millisecond))
	rec, _ := c.opts.Memory.Get(spec.Name)
	rec.Owned, rec.Origin, rec.LastWanted = true, spec.Source.Kind, c.opts.Now()
	rec.Source, rec.Targets = spec.Source.String(), actionTexts(spec.Actions)
	rec.Failures, rec.NextAttempt, rec.LastError, rec.Notified = 0, time.Time{}, "", false
	c.opts.Memory.Put(spec.Name, rec)
	if c.opts.Deployer != nil {
		if err := c.opts.Deployer.Deploy(ctx, spec, lin); err != nil {
			log.Error("deploy step failed (the new version is on disk)", "err", err)
		}
	}
	return true, nil
}

// RunOnce runs one full pass: every desired certificate is checked, those
// that need it are issued (Workers at a time), then the actions of the
// changed ones run, each target once.
func (c *Controller) RunOnce(ctx context.Context) Result {
	return c.pass(ctx, nil, false)
}

// Renew runs one pass restricted to names; with force, each is issued
// even when it is not due.
func (c *Controller) Renew(ctx context.Context, names []string, force bool) Result {
	return c.pass(ctx, names, force)
}

func (c *Controller) pass(ctx context.Context, only []string, force bool) Result {
	desired, problems := c.Desired(ctx)
	res := Result{Failed: map[string]error{}, Problems: problems}
	for _, p := range problems {
		c.log.Warn("configuration problem", "err", p)
	}
	names := slices.Sorted(maps.Keys(desired))
	if only != nil {
		for _, n := range only {
			if _, ok := desired[n]; !ok {
				res.Failed[n] = errors.New("no such certificate in the desired set")
			}
		}
		names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(only, n) })
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		sem     = make(chan struct{}, c.opts.Workers)
		changed []cert.Spec
	)
	now := c.opts.Now()
	for _, name := range names {
		spec := desired[name]
		if only == nil && !force {
			// A full pass (run --once, from cron or a restart loop)
			// honours the persisted backoff as the daemon does: a CA that
			// rate-limits or is down is not asked again before its time.
			// Naming the certificate (renew NAME) retries it at once.
			if rec, _ := c.opts.Memory.Get(name); rec.Failures > 0 && now.Before(rec.NextAttempt) && !c.specChanged(spec) {
				err := fmt.Errorf("%w until %s after %d failures; last error: %s",
					ErrBackingOff, rec.NextAttempt.UTC().Format(time.RFC3339), rec.Failures, rec.LastError)
				c.log.Warn("certificate not retried yet", "cert", name, "err", err)
				res.Failed[name] = err
				continue
			}
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ok, err := c.process(ctx, spec, force, true, false)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				c.log.Error("certificate failed", "cert", name, "err", err)
				c.recordFailure(ctx, spec, err)
				res.Failed[name] = err
			case ok:
				res.Issued = append(res.Issued, name)
				changed = append(changed, spec)
			default:
				res.Unchanged = append(res.Unchanged, name)
			}
		})
	}
	wg.Wait()
	slices.Sort(res.Issued)
	slices.Sort(res.Unchanged)
	c.act(ctx, changed)
	if only == nil {
		c.prune(ctx, desired, problems)
	}
	return res
}

// act runs the actions of the changed certificates, each distinct action
// once.
func (c *Controller) act(ctx context.Context, changed []cert.Spec) {
	actions := Dedupe(changed)
	if len(actions) == 0 {
		return
	}
	if c.actor == nil {
		for _, a := range actions {
			c.log.Warn("action skipped: no Docker connection", "target", a.Target, "action", a.String())
		}
		return
	}
	for _, err := range c.actor.Act(ctx, actions) {
		c.log.Warn("action failed", "err", err)
	}
}

// Dedupe returns the actions of specs with each (kind, target, command,
// signal) once, in first-seen order.
func Dedupe(specs []cert.Spec) []cert.Action {
	seen := map[string]bool{}
	var out []cert.Action
	for _, s := range specs {
		for _, a := range s.Actions {
			k := string(a.Kind) + "\x00" + a.Target + "\x00" + strings.Join(a.Command, "\x00") + "\x00" + a.Signal
			if !seen[k] {
				seen[k] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// Trigger marks the world dirty: a pass runs after the quiet period
// (rate-limited by MinInterval during storms). It never blocks.
func (c *Controller) Trigger() {
	select {
	case c.trigger <- struct{}{}:
	default:
	}
}

// TriggerNow is Trigger for a deliberate change (an edit of domains.conf):
// the pass runs after the quiet period even if the previous one was less
// than MinInterval ago.
func (c *Controller) TriggerNow() {
	c.now.Store(true)
	c.Trigger()
}

// Run is the daemon: a first pass at once, then a pass after every
// (coalesced) Trigger and every Interval, until ctx ends. Certificates
// that need work go through a queue so one name is never processed twice
// at once; failures are retried with backoff.
func (c *Controller) Run(ctx context.Context) error {
	q := newQueue()
	var wg sync.WaitGroup
	for range c.opts.Workers {
		wg.Go(func() { c.worker(ctx, q) })
	}
	defer func() {
		q.ShutDown()
		wg.Wait()
	}()
	ticker := time.NewTicker(c.opts.Interval)
	defer ticker.Stop()
	// The start-up pass does not count towards MinInterval: the watch's
	// first (re)connect resync right after it is served at once.
	var last time.Time
	c.reconcile(ctx, q, false)
	for {
		tick := false
		var window <-chan time.Time
		var windowTimer *time.Timer
		if c.opts.Window != nil {
			if next := c.opts.Window(c.opts.Now()); !next.IsZero() {
				windowTimer = time.NewTimer(time.Until(next))
				window = windowTimer.C
			}
		}
		stopWindow := func() {
			if windowTimer != nil {
				windowTimer.Stop()
			}
		}
		select {
		case <-ctx.Done():
			stopWindow()
			return nil
		case <-ticker.C:
		case <-window:
			tick = true
			c.log.Info("maintenance window: renewing the certificates that are due")
		case <-c.trigger:
			if !c.coalesce(ctx, last) {
				stopWindow()
				return nil
			}
		}
		stopWindow()
		last = time.Now()
		c.reconcile(ctx, q, tick)
	}
}

// coalesce waits, after a first trigger, until no trigger came for Quiet
// or MaxDelay has passed, and in any case until MinInterval after the
// previous pass started (last), absorbing the triggers meanwhile. It
// returns false when ctx ends.
func (c *Controller) coalesce(ctx context.Context, last time.Time) bool {
	now := time.Now()
	notBefore := last.Add(c.opts.MinInterval)
	if c.now.Swap(false) {
		notBefore = now
	}
	deadline := later(now.Add(c.opts.MaxDelay), notBefore)
	fire := later(now.Add(c.opts.Quiet), notBefore)
	for {
		t := time.NewTimer(time.Until(fire))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
			return true
		case <-c.trigger:
			t.Stop()
			if c.now.Swap(false) {
				notBefore = time.Now()
				deadline = time.Now().Add(c.opts.MaxDelay)
			}
			fire = later(time.Now().Add(c.opts.Quiet), notBefore)
			if fire.After(deadline) {
				fire = deadline
			}
		}
	}
}

// report logs each source problem at Warn the first time it is seen and
// at Debug while it persists, so a bad label does not flood the log on
// every pass.
func (c *Controller) report(problems []error) {
	seen := map[string]bool{}
	for _, p := range problems {
		msg := p.Error()
		seen[msg] = true
		if c.reported[msg] {
			c.log.Debug("configuration problem persists", "err", p)
		} else {
			c.log.Warn("configuration problem", "err", p)
		}
	}
	c.reported = seen
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// reconcile recomputes the desired set and queues what needs work. On a
// maintenance tick, certificates that are merely due are queued too;
// otherwise only urgent work is (see Decision.Urgent).
func (c *Controller) reconcile(ctx context.Context, q *queue, tick bool) {
	start := time.Now()
	defer func() {
		if c.opts.Observer != nil {
			c.opts.Observer.Reconciled(time.Since(start))
		}
	}()
	desired, problems := c.Desired(ctx)
	c.report(problems)
	now := c.opts.Now()
	c.mu.Lock()
	if c.opts.Observer != nil {
		for name := range c.desired {
			if _, ok := desired[name]; !ok {
				c.opts.Observer.Forgot(name)
			}
		}
	}
	c.desired = desired
	for name := range c.failedSpec {
		if _, ok := desired[name]; !ok {
			delete(c.failedSpec, name)
		}
	}
	c.mu.Unlock()
	// Decisions are made concurrently (bounded by Workers): each one
	// reads a lineage and may ask the CA for its renewal window, which
	// with hundreds of certificates would make a sequential pass slow.
	type look struct {
		name string
		spec cert.Spec
		d    Decision
		cur  *cert.Lineage
	}
	var (
		looks []*look
		wg    sync.WaitGroup
		sem   = make(chan struct{}, max(c.opts.Workers, 1))
	)
	for name, spec := range desired {
		rec, _ := c.opts.Memory.Get(name)
		if rec.Failures > 0 && now.Before(rec.NextAttempt) && !c.specChanged(spec) {
			q.AddAfter(name, rec.NextAttempt.Sub(now)) // persisted backoff
			continue
		}
		l := &look{name: name, spec: spec}
		looks = append(looks, l)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			l.d, l.cur = c.decideLoad(ctx, l.spec)
		})
	}
	wg.Wait()
	for _, l := range looks {
		name, d, cur := l.name, l.d, l.cur
		if c.opts.Observer != nil {
			c.opts.Observer.Certificate(name, cur, d.RenewAt, cur != nil && (!d.Issue || !d.Urgent))
		}
		switch {
		case d.Issue && (d.Urgent || tick):
			if tick {
				c.mu.Lock()
				c.allowDue[name] = true
				c.mu.Unlock()
			}
			q.Add(name)
		case d.Issue:
			c.log.Debug("due; waiting for the maintenance window", "cert", name, "reason", d.Reason)
		case !d.RenewAt.IsZero() && d.RenewAt.Sub(now) < c.opts.Interval:
			q.AddAfter(name, d.RenewAt.Sub(now))
		}
	}
	c.prune(ctx, desired, problems)
}

// specChanged reports whether a failed certificate's spec changed since
// its failure (then it is retried at once, not after its backoff).
func (c *Controller) specChanged(spec cert.Spec) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.failedSpec[spec.Name]
	return ok && (!cert.SameDomains(old.Domains, spec.Domains) || old.KeyType != spec.KeyType || old.Profile != spec.Profile)
}

// recordFailure persists a failure with its backoff and notifies once per
// streak. It returns the wait before the next attempt.
func (c *Controller) recordFailure(ctx context.Context, spec cert.Spec, err error) time.Duration {
	rec, _ := c.opts.Memory.Get(spec.Name)
	rec.Failures++
	wait := c.opts.Backoff(rec.Failures)
	if ra := retryAfter(err); ra > wait {
		wait = ra
	}
	rec.NextAttempt, rec.LastError = c.opts.Now().Add(wait), err.Error()
	notify := !rec.Notified && c.opts.Notifier != nil
	rec.Notified = rec.Notified || notify
	c.opts.Memory.Put(spec.Name, rec)
	c.mu.Lock()
	c.failedSpec[spec.Name] = spec
	c.mu.Unlock()
	if notify {
		c.opts.Notifier.Failed(ctx, spec, err, rec.Failures)
	}
	return wait
}

// prune removes lineages nothing wants any more: a certdock-owned
// lineage whose domains.conf line is gone is revoked (RevokeRemoved) and
// deleted; one only labels wanted is deleted once no workload has wanted
// it for LabelGrace. Nothing is pruned while a source is unavailable
// (domains.conf unreadable), and lineages certdock does not own are never
// touched.
func (c *Controller) prune(ctx context.Context, desired map[string]cert.Spec, problems []error) {
	now := c.opts.Now()
	if d, ok := c.opts.Memory.(Deferrer); ok {
		// Refreshing "last wanted" touches every certificate: persist once.
		done := d.Defer()
		defer done()
	}
	for name, spec := range desired {
		rec, _ := c.opts.Memory.Get(name)
		adopt := false
		if !rec.Owned && spec.Source.Kind == cert.FromFile {
			// A lineage written by another tool (certbot) and listed in
			// domains.conf is adopted: removal rules apply to it from now.
			if _, err := c.store.Load(name); err == nil {
				rec.Owned, adopt = true, true
				c.log.Info("adopted an existing lineage listed in domains.conf", "cert", name)
			}
		}
		// Minute resolution is plenty for a grace period of days, and
		// keeps the state file from being rewritten on every pass.
		src, targets := spec.Source.String(), actionTexts(spec.Actions)
		if adopt || rec.Origin != spec.Source.Kind || now.Sub(rec.LastWanted) > time.Minute ||
			rec.Source != src || !slices.Equal(rec.Targets, targets) {
			rec.LastWanted, rec.Origin, rec.Source, rec.Targets = now, spec.Source.Kind, src, targets
			c.opts.Memory.Put(name, rec)
		}
	}
	for _, p := range problems {
		if errors.Is(p, ErrSourceUnavailable) {
			return
		}
	}
	for _, s := range c.sources {
		if a, ok := s.(interface{ Available() bool }); ok && !a.Available() {
			return
		}
	}
	if c.opts.Remover == nil {
		return
	}
	for _, name := range c.opts.Memory.Names() {
		if _, wanted := desired[name]; wanted {
			continue
		}
		rec, _ := c.opts.Memory.Get(name)
		if !rec.Owned {
			c.opts.Memory.Delete(name) // a failure record of a certificate nobody wants now
			continue
		}
		log := c.log.With("cert", name)
		revoke := false
		switch rec.Origin {
		case cert.FromLabel:
			if now.Sub(rec.LastWanted) < c.opts.LabelGrace {
				continue
			}
			log.Info("removing a certificate no workload has wanted for the grace period", "last_wanted", rec.LastWanted.UTC().Format(time.RFC3339))
		default:
			revoke = c.opts.RevokeRemoved
			log.Info("removing: its line was removed from domains.conf")
		}
		if err := c.remove(ctx, log, name, revoke); err != nil {
			log.Error("could not remove lineage", "err", err)
		}
	}
}

// actionTexts describes actions for the state file (nil when none).
func actionTexts(acts []cert.Action) []string {
	var out []string
	for _, a := range acts {
		out = append(out, a.String())
	}
	return out
}

// ErrBackingOff marks a certificate a full pass did not retry because its
// persisted backoff (after failures) has not expired; `certdock renew
// NAME` retries it at once.
var ErrBackingOff = errors.New("backing off")

// errNotWanted reports that a queued certificate left the desired set
// before its turn came.
var errNotWanted = errors.New("no longer wanted")

// remove revokes (when asked) and deletes a lineage and its record
// under the lineage lock, so an
// issuance in flight for it finishes first instead of writing a version
// into a directory that was just removed.
func (c *Controller) remove(ctx context.Context, log *slog.Logger, name string, revoke bool) error {
	if c.opts.Locker != nil {
		unlock, err := c.opts.Locker.Lock(ctx, name)
		if err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		defer unlock()
	}
	if rv, ok := c.issuer.(Revoker); ok && revoke {
		if lin, err := c.store.Load(name); err == nil {
			if err := rv.Revoke(ctx, lin.CertPEM); err != nil {
				log.Warn("revocation failed; deleting anyway", "err", err)
			} else {
				log.Info("revoked: its line was removed from domains.conf")
			}
		}
	}
	if err := c.opts.Remover.Remove(name); err != nil {
		return err
	}
	c.opts.Memory.Delete(name)
	return nil
}

// ErrSourceUnavailable marks a source problem that means the source could
// not be read at all (not a bad line): nothing is pruned in that pass. A
// source may also say so without reporting a problem by implementing
// Available() bool (domains.conf missing).
var ErrSourceUnavailable = errors.New("source unavailable")

func (c *Controller) worker(ctx context.Context, q *queue) {
	for {
		name, ok := q.Get()
		if !ok {
			return
		}
		c.mu.Lock()
		spec, wanted := c.desired[name]
		c.mu.Unlock()
		if wanted {
			c.work(ctx, q, spec)
		}
		q.Done(name)
		if q.Idle() {
			c.flushActions(ctx)
		}
	}
}

// flushActions runs the actions of every certificate changed since the
// queue was last idle, each target once: in the daemon, "once per pass"
// means once per burst of work.
func (c *Controller) flushActions(ctx context.Context) {
	c.mu.Lock()
	names := c.pending
	c.pending = nil
	var specs []cert.Spec
	for _, n := range names {
		if s, ok := c.desired[n]; ok {
			specs = append(specs, s)
		}
	}
	c.mu.Unlock()
	c.act(ctx, specs)
}

func (c *Controller) work(ctx context.Context, q *queue, spec cert.Spec) {
	c.mu.Lock()
	allowDue := c.allowDue[spec.Name]
	delete(c.allowDue, spec.Name)
	c.mu.Unlock()
	changed, err := c.process(ctx, spec, false, allowDue, true)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, errNotWanted) {
			return
		}
		wait := c.recordFailure(ctx, spec, err)
		rec, _ := c.opts.Memory.Get(spec.Name)
		c.log.Error("certificate failed", "cert", spec.Name, "err", err, "failures", rec.Failures, "retry_in", wait.Round(time.Second))
		q.AddAfter(spec.Name, wait)
		return
	}
	c.mu.Lock()
	delete(c.failedSpec, spec.Name)
	if changed {
		c.pending = append(c.pending, spec.Name)
	}
	_, wanted := c.desired[spec.Name]
	c.mu.Unlock()
	if !wanted {
		// Its line went away while it was being issued, before the pass
		// that pruned knew it was owned: prune again now.
		if changed {
			c.TriggerNow()
		}
		return
	}
	// Schedule the next look at this certificate: its renewal time, when
	// that comes before the next full re-check.
	d, cur := c.decideLoad(ctx, spec)
	if c.opts.Observer != nil {
		c.opts.Observer.Certificate(spec.Name, cur, d.RenewAt, cur != nil && !d.Issue)
	}
	if !d.Issue && !d.RenewAt.IsZero() {
		if wait := time.Until(d.RenewAt); wait < c.opts.Interval {
			q.AddAfter(spec.Name, max(wait, time.Second))
		}
	}
}

// retryAfter extracts a server-requested wait from an issuer error.
func retryAfter(err error) time.Duration {
	var ra interface{ After() time.Duration }
	if errors.As(err, &ra) {
		return ra.After()
	}
	return 0
}

// FailureInfo describes a certificate in backoff.
type FailureInfo struct {
	Err   error
	Count int
	Next  time.Time
}

// Failures returns the certificates currently failing, with their
// persisted backoff.
func (c *Controller) Failures() map[string]FailureInfo {
	out := map[string]FailureInfo{}
	for _, n := range c.opts.Memory.Names() {
		if rec, ok := c.opts.Memory.Get(n); ok && rec.Failures > 0 {
			out[n] = FailureInfo{Err: errors.New(rec.LastError), Count: rec.Failures, Next: rec.NextAttempt}
		}
	}
	return out
}
