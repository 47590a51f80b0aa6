package certstatus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/controller"
)

// Row is one certificate in `certdock status` (and /api/status). It holds
// names, dates, decisions and error messages, never key material.
type Row struct {
	Name    string   `json:"name"`
	Domains []string `json:"domains,omitempty"`
	// Source is what wants the certificate: a domains.conf line, a
	// workload, or "on disk only".
	Source string `json:"source"`
	// Targets are the actions a new version triggers (cert.Action.String).
	Targets []string `json:"targets,omitempty"`
	// NotBefore and NotAfter bound the current version's validity.
	NotBefore   *time.Time `json:"not_before,omitempty"`
	NotAfter    *time.Time `json:"not_after,omitempty"`
	DaysLeft    *int       `json:"days_left,omitempty"`
	RenewalDue  *time.Time `json:"renewal_due,omitempty"`
	State       string     `json:"state"`
	Failures    int        `json:"failures,omitempty"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	NeedsConfig bool       `json:"needs_configuration,omitempty"`
	// Reason is the decision chain's reason (missing, domains changed,
	// ARI window, valid, …); Next says what happens next and why, and
	// NextAt when.
	Reason string     `json:"reason,omitempty"`
	Next   string     `json:"next"`
	NextAt *time.Time `json:"next_at,omitempty"`
	// Deliveries are the Swarm services the certificate is delivered to
	// as secrets, with the version each holds, as the daemon last saw
	// them.
	Deliveries []Delivery `json:"deliveries,omitempty"`
	// DNSRecords are the dns-persist-01 records the certificate waits for,
	// in zone-file syntax, to create once (LastError says what is wrong).
	DNSRecords []string `json:"dns_records,omitempty"`
}

// Delivery is one delivery of a certificate in `certdock status`.
type Delivery struct {
	Service string    `json:"service"`
	Version int       `json:"version"`
	Error   string    `json:"error,omitempty"`
	Since   time.Time `json:"since"`
}

// String renders the delivery for the TARGETS column, e.g.
// "secrets to service web: v3" or "secrets to service web: v2; FAILING: …".
func (d Delivery) String() string {
	held := "none"
	if d.Version > 0 {
		held = "v" + strconv.Itoa(d.Version)
	}
	if d.Error != "" {
		return fmt.Sprintf("secrets to service %s: %s; FAILING: %s", d.Service, held, d.Error)
	}
	return fmt.Sprintf("secrets to service %s: %s", d.Service, held)
}

// States of a certificate on disk, as Row.State says them (a broken
// lineage is "BROKEN: " and why).
const (
	StateMissing = "missing (will be issued)"
	StateExpired = "EXPIRED"
	StateDue     = "due"
	StateOK      = "ok"
	StateBroken  = "BROKEN: "
)

// Rows turns the controller's statuses into rows, at time now: a pure
// function. bad is true when a lineage is broken.
func Rows(certs []controller.CertStatus, now time.Time) (rows []Row, bad bool) {
	rows = make([]Row, 0, len(certs))
	for _, cs := range certs {
		r, broken := row(cs, now)
		bad = bad || broken
		rows = append(rows, r)
	}
	return rows, bad
}

// row is one certificate's Row; broken when its lineage is unreadable.
func row(cs controller.CertStatus, now time.Time) (r Row, broken bool) {
	r = Row{Name: cs.Name, Source: "on disk only", Next: cs.Next, NextAt: timePtr(cs.NextAt)}
	switch {
	case cs.Spec != nil:
		r.Source = cs.Spec.Source.String()
		for _, act := range cs.Spec.Actions {
			r.Targets = append(r.Targets, act.String())
		}
	case cs.Record.Origin == cert.FromLabel:
		// Wanted by labels: the daemon recorded the workload and its
		// actions the last time it saw them.
		r.Source, r.Targets = "docker labels", cs.Record.Targets
		if cs.Record.Source != "" {
			r.Source = cs.Record.Source
		}
	}
	for _, d := range cs.Record.Deliveries {
		r.Deliveries = append(r.Deliveries, Delivery{Service: d.Service, Version: d.Version, Error: d.Error, Since: d.Since})
	}
	if rec := cs.Record; rec.Failures > 0 {
		next := rec.NextAttempt
		r.Failures, r.NextAttempt, r.LastError, r.NeedsConfig = rec.Failures, &next, rec.LastError, rec.NeedsConfig
		r.DNSRecords = rec.WaitingRecords
	}
	d := cs.Decision
	r.Reason = string(d.Reason)
	switch {
	case errors.Is(cs.LoadErr, fs.ErrNotExist):
		r.State = StateMissing
	case cs.LoadErr != nil:
		return withState(r, StateBroken+cs.LoadErr.Error()), true
	case cs.Lineage == nil:
		r.State = StateMissing
	default:
		l := cs.Lineage
		days := int(l.NotAfter.Sub(now).Hours() / 24)
		r.Domains, r.NotBefore, r.NotAfter, r.DaysLeft = l.Domains, timePtr(l.NotBefore), timePtr(l.NotAfter), &days
		r.RenewalDue = timePtr(d.RenewAt)
		// The state is the certificate's own (valid, due, expired);
		// what certdock will do with it, and why, is in Next.
		switch {
		case !now.Before(l.NotAfter):
			r.State = StateExpired
		case d.Reason == controller.ReasonARIWindow, d.Reason == controller.ReasonRenewalWindow:
			r.State = StateDue
		default:
			r.State = StateOK
		}
	}
	return r, false
}

func withState(r Row, state string) Row {
	r.State = state
	return r
}

// timePtr returns a pointer to a copy of t, nil for the zero time.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// WriteJSON writes rows as `certdock status --json` prints them: an
// indented JSON array (an empty one when there are no rows).
func WriteJSON(w io.Writer, rows []Row) error {
	if rows == nil {
		rows = []Row{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}
