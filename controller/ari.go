package controller

import (
	"context"
	"errors"
	"time"

	"github.com/certdock/certdock/cert"
)

// How long an ARI answer is trusted when the CA gives no Retry-After, and
// the bounds put on a Retry-After.
const (
	ariDefaultRefresh = 6 * time.Hour
	ariErrorRetry     = time.Hour
	ariNoWindowRetry  = 24 * time.Hour
	ariMinRefresh     = time.Minute
	ariMaxRefresh     = 24 * time.Hour
	ariTimeout        = 10 * time.Second
)

// ariFresh reports whether a recorded ARI answer still holds for the
// certificate with that serial at now.
func ariFresh(a *ARIRecord, serial string, now time.Time) bool {
	return a != nil && a.Serial == serial && now.Before(a.NextFetch)
}

// nextARI folds a CA's answer (or error) into the previous record for the
// same certificate: a pure function. An error keeps the previous window
// of the same certificate and the CA's Retry-After.
func nextARI(prev *ARIRecord, serial string, w Window, err error, now time.Time) *ARIRecord {
	next := &ARIRecord{Serial: serial, Fetched: now}
	wait := ariDefaultRefresh
	switch {
	case errors.Is(err, ErrNoWindow):
		wait = ariNoWindowRetry
	case err != nil:
		_, ra := classify(err)
		wait = ariErrorRetry
		if ra > 0 {
			wait = ra
		}
		next.Err = err.Error()
		if prev != nil && prev.Serial == serial {
			next.Start, next.End, next.Fetched = prev.Start, prev.End, prev.Fetched
		}
	default:
		next.Start, next.End = w.Start, w.End
		if w.RetryAfter > 0 {
			wait = w.RetryAfter
		}
	}
	next.NextFetch = now.Add(min(max(wait, ariMinRefresh), ariMaxRefresh))
	return next
}

// ariWindow returns the CA's renewal window for the current certificate:
// the recorded answer while fresh, else (when ask) the CA's, which is
// recorded with its retry time. Zero times mean no window.
func (c *Controller) ariWindow(ctx context.Context, name string, cur *cert.Lineage, rec *Record, ask bool) (time.Time, time.Time) {
	if cur == nil || cur.Leaf == nil {
		return time.Time{}, time.Time{}
	}
	serial := cur.Leaf.SerialNumber.String()
	now := c.opts.Now()
	if ask && !ariFresh(rec.ARI, serial, now) {
		actx, cancel := context.WithTimeout(ctx, ariTimeout)
		w, err := c.issuer.RenewalWindow(actx, cur.Leaf)
		cancel()
		if err != nil && !errors.Is(err, ErrNoWindow) {
			c.log.Debug("ARI lookup failed; renewal scheduled by lifetime meanwhile", "cert", name, "err", err)
		}
		a := nextARI(rec.ARI, serial, w, err, now)
		*rec = c.update(name, func(r *Record) { r.ARI = a })
	}
	if rec.ARI == nil || rec.ARI.Serial != serial {
		return time.Time{}, time.Time{}
	}
	return rec.ARI.Start, rec.ARI.End
}
