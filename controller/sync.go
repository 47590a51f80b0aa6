package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/certdock/certdock/cert"
)

// intent says why a name was queued; the intents of one name merge until
// its sync takes them.
type intent struct {
	due   bool // merely due is enough (maintenance tick, run --once)
	force bool // a new version whatever the state (renew --force)
	retry bool // named explicitly (renew NAME): the backoff is not honoured
}

func (i intent) merge(o intent) intent {
	return intent{due: i.due || o.due, force: i.force || o.force, retry: i.retry || o.retry}
}

// outcomeKind is what one sync of a certificate did.
type outcomeKind int

const (
	outUnchanged outcomeKind = iota
	outIssued
	outFailed
	outDeferred // not tried: backing off or waiting for configuration
	outGone     // left the desired set while queued
)

type outcome struct {
	kind outcomeKind
	err  error
}

// evaluate loads the current lineage and decides, with rec the
// certificate's record as just read (its recorded ARI window). ask allows
// asking the CA for a renewal window that is not recorded fresh (status
// does not).
func (c *Controller) evaluate(ctx context.Context, spec cert.Spec, rec Record, force, ask bool) (Decision, *cert.Lineage) {
	cur, err := c.store.Load(spec.Name)
	now := c.opts.Now()
	in := Input{
		Spec: spec, Current: cur, LoadErr: err, Now: now, Force: force,
		Server: c.issuer.Server(), DefaultKeyType: c.opts.DefaultKeyType,
	}
	if c.opts.Window != nil {
		in.NextWindow = c.opts.Window(now)
	}
	if err != nil {
		in.Current, cur = nil, nil
	} else {
		in.ARIStart, in.ARIEnd = c.ariWindow(ctx, spec.Name, cur, &rec, ask)
	}
	return Evaluate(in), cur
}

// sync is the one path of a certificate's work, for the daemon, `run
// --once` and `renew` alike: gate → lock → decide → issue → save → record
// → deploy → queue its actions.
func (c *Controller) sync(ctx context.Context, q *queue, name string) outcome {
	spec, wanted := c.wanted(name)
	in := c.takeIntent(name)
	if !wanted {
		return outcome{kind: outGone}
	}
	log := c.log.With("cert", name)
	rec, _ := c.opts.Memory.Get(name)
	if !in.retry && gate(rec, specTag(spec), c.opts.ConfigTag, c.opts.Now()) {
		err := gateError(rec)
		log.Debug("certificate not retried yet", "err", err)
		c.scheduleAt(q, name, rec.NextAttempt)
		return outcome{kind: outDeferred, err: err}
	}
	unlock, err := c.opts.Locker.Lock(ctx, name)
	if err != nil {
		return c.failed(ctx, q, spec, fmt.Errorf("lock: %w", err))
	}
	defer unlock()
	// The desired set may have changed while this certificate waited in
	// the queue or for its lock: a lineage pruned meanwhile must not be
	// issued again.
	if spec, wanted = c.wanted(name); !wanted {
		return outcome{kind: outGone}
	}
	// Decide after taking the lock: another process may just have renewed.
	rec, _ = c.opts.Memory.Get(name) // read again under the lock
	d, cur := c.evaluate(ctx, spec, rec, in.force, true)
	c.observe(name, cur, d)
	switch {
	case !d.Issue():
		log.Debug("nothing to do", "reason", d.String())
		if rec.Failures > 0 {
			// Valid and as wanted (another process renewed it): the
			// failure streak is over.
			c.update(name, clearFailure)
		}
		c.scheduleRenewal(q, name, d)
		return outcome{kind: outUnchanged}
	case d.Urgency == UrgencyDue && !in.due:
		log.Debug("due; waiting for the maintenance window", "reason", d.String())
		return outcome{kind: outUnchanged}
	}
	if err := c.checkRecords(ctx, spec); err != nil {
		if we, ok := asWaiting(err); ok {
			return c.waiting(ctx, q, spec, we)
		}
		return c.failed(ctx, q, spec, fmt.Errorf("check DNS records: %w", err))
	}
	log.Info("issuing certificate", "domains", spec.Domains, "reason", d.String())
	start := c.opts.Now()
	if cur != nil && spec.KeyType == "" && c.opts.DefaultKeyType == "" {
		// No key type was asked for: a renewal keeps the lineage's own
		// (e.g. RSA for a lineage adopted from certbot).
		spec.KeyType = cur.KeyType
	}
	b, meta, err := c.issuer.Issue(ctx, spec, cur)
	if c.opts.Observer != nil {
		c.opts.Observer.Issued(name, c.opts.Now().Sub(start), err)
	}
	if we, ok := asWaiting(err); ok {
		return c.waiting(ctx, q, spec, we) // a record went away since the check
	}
	if err != nil {
		return c.failed(ctx, q, spec, fmt.Errorf("issue: %w", err))
	}
	lin, err := c.store.Save(name, b, meta)
	if err != nil {
		return c.failed(ctx, q, spec, fmt.Errorf("save: %w", err))
	}
	log.Info("certificate issued", "domains", lin.Domains, "version", lin.Version,
		"not_after", lin.NotAfter.UTC().Format(time.RFC3339), "took", c.opts.Now().Sub(start).Round(time.Millisecond))
	c.update(name, func(r *Record) {
		r.Owned, r.Origin, r.LastWanted = true, spec.Source.Kind, c.opts.Now()
		r.Source, r.Targets = spec.Source.String(), actionTexts(spec.Actions)
		clearFailure(r)
	})
	if c.opts.Deployer != nil {
		if err := c.opts.Deployer.Deploy(ctx, spec, lin); err != nil {
			log.Error("deploy step failed (the new version is on disk)", "err", err)
		}
	}
	c.mu.Lock()
	c.pending = append(c.pending, name)
	_, still := c.desired[name]
	c.mu.Unlock()
	if !still {
		// Its line went away while it was being issued, before the pass
		// that pruned knew it was owned: prune again now.
		c.TriggerNow()
		return outcome{kind: outIssued}
	}
	next := Evaluate(Input{Spec: spec, Current: lin, Now: c.opts.Now(), Server: c.issuer.Server(), DefaultKeyType: c.opts.DefaultKeyType})
	c.observe(name, lin, next)
	c.scheduleRenewal(q, name, next)
	return outcome{kind: outIssued}
}

// failed records a failure and schedules the retry.
func (c *Controller) failed(ctx context.Context, q *queue, spec cert.Spec, err error) outcome {
	if ctx.Err() != nil {
		return outcome{kind: outFailed, err: err} // shutting down: not the CA's fault
	}
	rec := c.recordFailure(ctx, spec, err)
	c.log.Error("certificate failed", "cert", spec.Name, "err", err, "failures", rec.Failures,
		"needs_config", rec.NeedsConfig, "retry_at", rec.NextAttempt.UTC().Format(time.RFC3339))
	c.scheduleAt(q, spec.Name, rec.NextAttempt)
	return outcome{kind: outFailed, err: err}
}

// observe tells the Observer a certificate's state.
func (c *Controller) observe(name string, cur *cert.Lineage, d Decision) {
	if c.opts.Observer != nil {
		c.opts.Observer.Certificate(name, cur, d.RenewAt, cur != nil && d.Urgency != UrgencyNow)
	}
}

// scheduleRenewal queues the next look at a certificate at its renewal
// time, when that comes before the next full re-check.
func (c *Controller) scheduleRenewal(q *queue, name string, d Decision) {
	if d.Issue() || d.RenewAt.IsZero() {
		return
	}
	if wait := d.RenewAt.Sub(c.opts.Now()); wait < c.opts.Interval {
		q.AddAfter(name, max(wait, time.Second))
	}
}

// scheduleAt queues name again at t (the daemon's retry after a failure).
func (c *Controller) scheduleAt(q *queue, name string, t time.Time) {
	q.AddAfter(name, max(t.Sub(c.opts.Now()), time.Millisecond))
}

// wanted returns the spec of a name in the current desired set.
func (c *Controller) wanted(name string) (cert.Spec, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.desired[name]
	return s, ok
}

// enqueue queues name with an intent.
func (c *Controller) enqueue(q *queue, name string, in intent) {
	c.mu.Lock()
	c.intents[name] = c.intents[name].merge(in)
	c.mu.Unlock()
	q.Add(name)
}

func (c *Controller) takeIntent(name string) intent {
	c.mu.Lock()
	defer c.mu.Unlock()
	in := c.intents[name]
	delete(c.intents, name)
	return in
}

// actionTexts describes actions for the state file (nil when none).
func actionTexts(acts []cert.Action) []string {
	var out []string
	for _, a := range acts {
		out = append(out, a.String())
	}
	return out
}

// clearFailure ends a record's failure streak.
func clearFailure(r *Record) {
	r.Failures, r.NextAttempt, r.LastError, r.Notified = 0, time.Time{}, "", false
	r.NeedsConfig, r.FailedSpec, r.FailedConfig = false, "", ""
	r.WaitingRecords = nil
}
