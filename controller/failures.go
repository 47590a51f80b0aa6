package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/certdock/certdock/cert"
)

// ErrBackingOff marks a certificate not tried because its persisted
// backoff (after failures) has not expired; `certdock renew NAME` retries
// it at once.
var ErrBackingOff = errors.New("backing off")

// ErrNeedsConfig marks a certificate not tried because its last failure
// was a configuration error and neither the configuration nor the
// certificate changed since.
var ErrNeedsConfig = errors.New("needs configuration")

// classify tells a configuration error (retrying without a change is
// pointless: missing credential, unknown provider, names the CA refuses)
// from a transient one, and extracts the wait the server asked for.
// Issuer errors say so through Permanent() and After().
func classify(err error) (needsConfig bool, retryAfter time.Duration) {
	var p interface{ Permanent() bool }
	if errors.As(err, &p) {
		needsConfig = p.Permanent()
	}
	var ra interface{ After() time.Duration }
	if errors.As(err, &ra) {
		retryAfter = ra.After()
	}
	return needsConfig, retryAfter
}

// gate decides whether a failing certificate waits: it does until its
// NextAttempt, unless its spec changed since the failure, or — for a
// configuration error — the configuration changed. It is a pure function.
func gate(rec Record, spec, config string, now time.Time) (blocked bool) {
	switch {
	case rec.Failures == 0:
		return false
	case rec.FailedSpec != "" && rec.FailedSpec != spec:
		return false
	case rec.NeedsConfig && rec.FailedConfig != config:
		return false
	}
	return now.Before(rec.NextAttempt)
}

// gateError describes why a certificate waits, for results and status.
func gateError(rec Record) error {
	until := rec.NextAttempt.UTC().Format(time.RFC3339)
	if len(rec.WaitingRecords) > 0 {
		return fmt.Errorf("%w: %s (DNS checked again at %s)", ErrBackingOff, rec.LastError, until)
	}
	if rec.NeedsConfig {
		return fmt.Errorf("%w: %s (retried when the configuration changes, or at %s)", ErrNeedsConfig, rec.LastError, until)
	}
	return fmt.Errorf("%w until %s after %d failures; last error: %s", ErrBackingOff, until, rec.Failures, rec.LastError)
}

// recordFailure persists a failure with its next attempt and notifies
// once per streak. It returns the updated record.
func (c *Controller) recordFailure(ctx context.Context, spec cert.Spec, err error) Record {
	needsConfig, ra := classify(err)
	notify := false
	rec := c.update(spec.Name, func(r *Record) {
		r.Failures++
		wait := c.opts.Backoff(r.Failures)
		if needsConfig {
			wait = c.opts.ConfigRetry
		}
		r.WaitingRecords = nil
		if we, ok := asWaiting(err); ok {
			// Waiting for DNS records: checked again soon, with DNS
			// queries only; the CA is not asked meanwhile.
			wait, needsConfig, r.WaitingRecords = c.opts.RecordPoll, false, slices.Clone(we.Records)
		}
		wait = max(wait, ra)
		r.NextAttempt, r.LastError, r.NeedsConfig = c.opts.Now().Add(wait), err.Error(), needsConfig
		r.FailedSpec, r.FailedConfig = specTag(spec), c.opts.ConfigTag
		notify = !r.Notified && c.opts.Notifier != nil
		r.Notified = r.Notified || notify
	})
	if notify {
		c.opts.Notifier.Failed(ctx, spec, err, rec.Failures)
	}
	return rec
}

// FailureInfo describes a certificate in backoff.
type FailureInfo struct {
	Err         error
	Count       int
	Next        time.Time
	NeedsConfig bool
}

// Failures returns the certificates currently failing, with their
// persisted backoff.
func (c *Controller) Failures() map[string]FailureInfo {
	out := map[string]FailureInfo{}
	for _, n := range c.opts.Memory.Names() {
		if rec, ok := c.opts.Memory.Get(n); ok && rec.Failures > 0 {
			out[n] = FailureInfo{Err: errors.New(rec.LastError), Count: rec.Failures, Next: rec.NextAttempt, NeedsConfig: rec.NeedsConfig}
		}
	}
	return out
}
