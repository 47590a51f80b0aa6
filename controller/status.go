package controller

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"time"

	"github.com/certdock/certdock/cert"
)

// CertStatus is what `certdock status` shows of one certificate.
type CertStatus struct {
	Name string
	// Spec is what a source wants; nil when nothing wants it now.
	Spec *cert.Spec
	// Lineage is the current version; nil when missing or unreadable
	// (LoadErr says which).
	Lineage *cert.Lineage
	LoadErr error
	// Record is what the controller remembers (failures, ownership).
	Record Record
	// Decision is the policy chain's answer (zero when not wanted).
	Decision Decision
	// Next says what happens next and why; NextAt is when (zero: now or
	// unknown).
	Next   string
	NextAt time.Time
}

// Status evaluates every certificate the way the daemon would, without
// contacting the CA (recorded ARI windows are used as they are): the
// desired set, lineages on disk, and label certificates known only from
// the state. Problems are the sources' (bad lines, labels).
func (c *Controller) Status(ctx context.Context) ([]CertStatus, []error) {
	set := c.desiredSet(ctx)
	return c.statusOf(ctx, set)
}

// Current is Status as the daemon last saw it: from the desired set and
// the source problems of its last pass, without reading the sources again
// (a status page asking every few seconds lists no Docker workloads).
// Before the first pass it is Status.
func (c *Controller) Current(ctx context.Context) ([]CertStatus, []error) {
	c.mu.Lock()
	specs, problems, seen := c.desired, c.problems, c.passed
	c.mu.Unlock()
	if !seen {
		return c.Status(ctx)
	}
	return c.statusOf(ctx, desiredSet{specs: specs, problems: slices.Clone(problems)})
}

// statusOf evaluates every certificate of set, on disk and known only
// from the state, and returns them with set's problems and the store's.
func (c *Controller) statusOf(ctx context.Context, set desiredSet) ([]CertStatus, []error) {
	names := slices.Collect(maps.Keys(set.specs))
	onDisk, err := c.store.Names()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		set.problems = append(set.problems, fmt.Errorf("listing lineages: %w", err))
	}
	names = append(names, onDisk...)
	for _, n := range c.opts.Memory.Names() {
		if rec, _ := c.opts.Memory.Get(n); rec.Origin == cert.FromLabel {
			names = append(names, n) // failing label certificates are not on disk yet
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	now := c.opts.Now()
	out := make([]CertStatus, 0, len(names))
	for _, n := range names {
		st := CertStatus{Name: n}
		st.Record, _ = c.opts.Memory.Get(n)
		st.Lineage, st.LoadErr = c.store.Load(n)
		if st.LoadErr != nil {
			st.Lineage = nil
		}
		if spec, ok := set.specs[n]; ok {
			st.Spec = &spec
			st.Decision, _ = c.evaluate(ctx, spec, st.Record, false, false)
			st.Next, st.NextAt = NextStep(st.Decision, st.Record, specTag(spec), c.opts.ConfigTag, now)
		} else {
			st.Next = unwantedStep(st.Record, c.opts.LabelGrace)
		}
		out = append(out, st)
	}
	return out, set.problems
}

// NextStep says what the controller will do next with a wanted
// certificate and why, from its decision and record: a pure function.
func NextStep(d Decision, rec Record, spec, config string, now time.Time) (string, time.Time) {
	if gate(rec, spec, config, now) {
		until := rec.NextAttempt
		if len(rec.WaitingRecords) > 0 {
			return fmt.Sprintf("%s (DNS checked again at %s)", rec.LastError, stamp(until)), until
		}
		if rec.NeedsConfig {
			return fmt.Sprintf("needs configuration: %s (retried when the configuration changes, or at %s)", rec.LastError, stamp(until)), until
		}
		return fmt.Sprintf("backing off until %s: %s", stamp(until), rec.LastError), until
	}
	switch {
	case d.Urgency == UrgencyNow:
		verb := "re-issue now"
		if d.Reason == ReasonMissing {
			verb = "issue now"
		}
		if d.Message == "" {
			return fmt.Sprintf("%s: %s", verb, d.Reason), now
		}
		return fmt.Sprintf("%s: %s (%s)", verb, d.Reason, d.Message), now
	case d.Urgency == UrgencyDue:
		return fmt.Sprintf("due, waiting for the maintenance window %s (%s)", stamp(d.NextWindow), d.Reason), d.NextWindow
	default:
		return fmt.Sprintf("renew at %s (%s)", stamp(d.RenewAt), d.RenewBy), d.RenewAt
	}
}

// unwantedStep says what happens to a lineage nothing wants now.
func unwantedStep(rec Record, grace time.Duration) string {
	switch {
	case !rec.Owned:
		return "not wanted; left alone (certdock did not write it)"
	case rec.Origin == cert.FromLabel:
		return fmt.Sprintf("no workload wants it now; removed after %s unless one does again", stamp(rec.LastWanted.Add(grace)))
	default:
		return "its line was removed from domains.conf; revoked and removed at the next pass"
	}
}

// stamp formats a time for status lines.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
