package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certdock/certdock/cert"
)

// Result summarises a one-shot run (`run --once`, `renew`).
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

// RunOnce runs one full pass through the same queue and sync as the
// daemon: every desired certificate is decided, those that need it are
// issued (Workers at a time, merely due ones included, failing ones only
// once their backoff expired), then the actions of the changed ones run,
// each target once, and unwanted lineages are pruned.
func (c *Controller) RunOnce(ctx context.Context) Result {
	return c.once(ctx, nil, intent{due: true})
}

// Renew runs one pass restricted to names, retrying them at once even
// when they are backing off; with force, each gets a new version even
// when it is not due.
func (c *Controller) Renew(ctx context.Context, names []string, force bool) Result {
	return c.once(ctx, names, intent{due: true, force: force, retry: true})
}

// once is a one-shot run: the daemon's queue drained once.
func (c *Controller) once(ctx context.Context, only []string, in intent) Result {
	q := newQueue(true)
	c.mu.Lock()
	c.results = map[string]outcome{}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for range c.opts.Workers {
		wg.Go(func() { c.worker(ctx, q) })
	}
	set := c.reconcile(ctx, q, in, only)
	q.WaitIdle()
	q.ShutDown()
	wg.Wait()
	c.runActions(ctx)
	if only == nil {
		c.prune(ctx, set)
	}
	c.mu.Lock()
	results := c.results
	c.results = nil
	c.mu.Unlock()

	res := Result{Failed: map[string]error{}, Problems: set.problems}
	names := slices.Sorted(maps.Keys(set.specs))
	if only != nil {
		for _, n := range only {
			if _, ok := set.specs[n]; !ok {
				res.Failed[n] = errors.New("no such certificate in the desired set")
			}
		}
		names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(only, n) })
	}
	for _, n := range names {
		switch o := results[n]; o.kind {
		case outIssued:
			res.Issued = append(res.Issued, n)
		case outFailed, outDeferred:
			res.Failed[n] = o.err
		default:
			res.Unchanged = append(res.Unchanged, n)
		}
	}
	return res
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
	c.urgent.Store(true)
	c.Trigger()
}

// Run is the daemon: a first pass at once, then a pass after every
// (coalesced) Trigger, every Interval and every maintenance tick, until
// ctx ends. The Observer is told Ready once the first pass's work is done.
func (c *Controller) Run(ctx context.Context) error {
	q := newQueue(false)
	var wg sync.WaitGroup
	for range c.opts.Workers {
		wg.Go(func() { c.worker(ctx, q) })
	}
	actx, stopActions := context.WithCancel(ctx)
	wg.Go(func() { c.actionLoop(actx) })
	defer func() {
		q.ShutDown()
		stopActions()
		wg.Wait()
	}()
	ticker := time.NewTicker(c.opts.Interval)
	defer ticker.Stop()
	// The start-up pass does not count towards MinInterval: the watch's
	// first (re)connect resync right after it is served at once.
	var last, lastTick time.Time
	c.pass(ctx, q, intent{})
	wg.Go(func() {
		if q.WaitIdle() && c.opts.Observer != nil {
			c.opts.Observer.Ready()
		}
	})
	for {
		in := intent{}
		window, at := c.windowTimer(lastTick)
		var tick <-chan time.Time
		if window != nil {
			tick = window.C
		}
		stop := false
		select {
		case <-ctx.Done():
			stop = true
		case <-ticker.C:
		case <-tick:
			in.due, lastTick = true, at
			c.log.Info("maintenance window: renewing the certificates that are due")
		case <-c.trigger:
			stop = !c.coalesce(ctx, last)
		}
		if window != nil {
			window.Stop()
		}
		if stop {
			return nil
		}
		last = c.opts.Now()
		c.pass(ctx, q, in)
	}
}

// windowTimer fires at the next maintenance tick after done (the tick
// last served, which never fires twice); nil without a window.
func (c *Controller) windowTimer(done time.Time) (*time.Timer, time.Time) {
	if c.opts.Window == nil {
		return nil, time.Time{}
	}
	now := c.opts.Now()
	next := c.opts.Window(now)
	if next.IsZero() || !next.After(done) {
		return nil, time.Time{}
	}
	return time.NewTimer(max(next.Sub(now), 0)), next
}

// pass is one daemon pass: reconcile, then prune, then the action loop
// checks the deliveries (level-triggered: it runs again once the queued
// work is done).
func (c *Controller) pass(ctx context.Context, q *queue, in intent) {
	set := c.reconcile(ctx, q, in, nil)
	c.prune(ctx, set)
	c.kickActions()
}

// coalesce waits, after a first trigger, until no trigger came for Quiet
// or MaxDelay has passed, and in any case until MinInterval after the
// previous pass started (last), absorbing the triggers meanwhile. It
// returns false when ctx ends.
func (c *Controller) coalesce(ctx context.Context, last time.Time) bool {
	now := c.opts.Now()
	notBefore := last.Add(c.opts.MinInterval)
	if c.urgent.Swap(false) {
		notBefore = now
	}
	deadline := later(now.Add(c.opts.MaxDelay), notBefore)
	fire := later(now.Add(c.opts.Quiet), notBefore)
	for {
		t := time.NewTimer(fire.Sub(c.opts.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
			return true
		case <-c.trigger:
			t.Stop()
			now := c.opts.Now()
			if c.urgent.Swap(false) {
				notBefore = now
				deadline = now.Add(c.opts.MaxDelay)
			}
			fire = later(now.Add(c.opts.Quiet), notBefore)
			if fire.After(deadline) {
				fire = deadline
			}
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// reconcile recomputes the desired set, decides every certificate
// (concurrently, bounded by Workers: each decision reads a lineage and
// may ask the CA for its renewal window) and queues those that need work
// now: urgent ones always, merely due ones with in.due, failing ones so
// their sync applies the backoff. only, when set, restricts the names.
func (c *Controller) reconcile(ctx context.Context, q *queue, in intent, only []string) desiredSet {
	start := c.opts.Now()
	set := c.desiredSet(ctx)
	c.report(set.problems)
	c.setDesired(set.specs)
	forced := c.forced(set)
	done := c.opts.Memory.Defer() // ARI answers of every certificate: persisted once
	defer done()
	type look struct {
		name  string
		queue bool // queued without a decision
		d     Decision
		cur   *cert.Lineage
	}
	looks := make([]look, 0, len(set.specs))
	for name := range set.specs {
		if only != nil && !slices.Contains(only, name) {
			continue
		}
		looks = append(looks, look{name: name})
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(c.opts.Workers, len(looks)) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(looks)); i = next.Add(1) - 1 {
				l := &looks[i]
				rec, _ := c.opts.Memory.Get(l.name)
				if l.queue = in.force || forced[l.name] || rec.Failures > 0; l.queue {
					continue // forced, or failing: its sync applies the backoff gate
				}
				l.d, l.cur = c.evaluate(ctx, set.specs[l.name], rec, false, true)
			}
		})
	}
	wg.Wait()
	for i := range looks {
		l := &looks[i]
		if l.queue {
			if forced[l.name] {
				c.log.Info("new version asked for by its source", "cert", l.name)
				c.enqueue(q, l.name, in.merge(intent{force: true}))
				continue
			}
			c.enqueue(q, l.name, in)
			continue
		}
		c.observe(l.name, l.cur, l.d)
		switch {
		case l.d.Urgency == UrgencyNow, l.d.Urgency == UrgencyDue && in.due:
			c.enqueue(q, l.name, in)
		case l.d.Urgency == UrgencyDue:
			c.log.Debug("due; waiting for the maintenance window", "cert", l.name, "reason", l.d.String())
		default:
			c.scheduleRenewal(q, l.name, l.d)
		}
	}
	if c.opts.Observer != nil {
		c.opts.Observer.Reconciled(c.opts.Now().Sub(start))
	}
	return set
}

// forced collects the names the sources that are Forcers want a new
// version of in this pass, among those desired.
func (c *Controller) forced(set desiredSet) map[string]bool {
	out := map[string]bool{}
	for _, s := range c.sources {
		if f, ok := s.(Forcer); ok {
			for _, n := range f.Forced() {
				if _, ok := set.specs[n]; ok {
					out[n] = true
				}
			}
		}
	}
	return out
}

// setDesired installs a new desired set, telling the Observer which
// certificates left it.
func (c *Controller) setDesired(specs map[string]cert.Spec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opts.Observer != nil {
		for name := range c.desired {
			if _, ok := specs[name]; !ok {
				c.opts.Observer.Forgot(name)
			}
		}
	}
	c.desired = specs
}

// worker takes names off the queue and syncs them; when the queue runs
// idle, the actions of what changed are handed to the action loop.
func (c *Controller) worker(ctx context.Context, q *queue) {
	for {
		name, ok := q.Get()
		if !ok {
			return
		}
		o := c.sync(ctx, q, name)
		c.mu.Lock()
		if c.results != nil {
			c.results[name] = o
		}
		c.mu.Unlock()
		if q.Done(name) {
			c.kickActions()
		}
	}
}
