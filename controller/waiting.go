package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/certdock/certdock/cert"
)

// RecordChecker is an optional capability of an Issuer whose challenge
// validates against DNS records the user creates once (dns-persist-01):
// before an order, it checks them with DNS queries only. It returns nil
// when the CA will find what it needs, a *WaitingError when a record is
// missing or wrong, and another error when the check itself failed.
type RecordChecker interface {
	CheckRecords(ctx context.Context, spec cert.Spec) error
}

// WaitingError says a certificate waits for DNS records: what is wrong
// with each (naming the record), and the records to create, in zone-file
// syntax. The CA is not asked until DNS answers them.
type WaitingError struct {
	Problems []string
	Records  []string
}

// Error says what is wrong and what to create, on one line.
func (e *WaitingError) Error() string {
	return fmt.Sprintf("waiting for DNS record: %s; create: %s", strings.Join(e.Problems, "; "), strings.Join(e.Records, " ; "))
}

// DefaultRecordPoll is how often a certificate waiting for its DNS records
// is checked again (DNS queries only).
const DefaultRecordPoll = time.Minute

// checkRecords asks the issuer, when it can, whether the DNS records the
// CA will look at exist: nil means order now.
func (c *Controller) checkRecords(ctx context.Context, spec cert.Spec) error {
	rc, ok := c.issuer.(RecordChecker)
	if !ok {
		return nil
	}
	return rc.CheckRecords(ctx, spec)
}

// waiting records that a certificate waits for its DNS records (a failure
// streak whose next attempt is the next DNS check, not a backoff) and
// logs the records to create: at Warn when they change, else at Debug.
func (c *Controller) waiting(ctx context.Context, q *queue, spec cert.Spec, we *WaitingError) outcome {
	if ctx.Err() != nil {
		return outcome{kind: outFailed, err: we}
	}
	prev, _ := c.opts.Memory.Get(spec.Name)
	rec := c.recordFailure(ctx, spec, we)
	log := c.log.With("cert", spec.Name, "domains", spec.Domains)
	if slices.Equal(prev.WaitingRecords, we.Records) && prev.LastError == we.Error() {
		log.Debug("still waiting for DNS records", "problems", we.Problems, "next_check", rec.NextAttempt.UTC().Format(time.RFC3339))
	} else {
		log.Warn("waiting for DNS records: create them once (the CA is not asked until DNS answers them)",
			"problems", strings.Join(we.Problems, "; "), "records", strings.Join(we.Records, "\n"),
			"next_check", rec.NextAttempt.UTC().Format(time.RFC3339))
	}
	c.scheduleAt(q, spec.Name, rec.NextAttempt)
	return outcome{kind: outFailed, err: we}
}

// asWaiting returns err's *WaitingError, if any.
func asWaiting(err error) (*WaitingError, bool) {
	var we *WaitingError
	ok := errors.As(err, &we)
	return we, ok
}
