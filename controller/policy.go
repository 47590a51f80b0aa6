package controller

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/certdock/certdock/cert"
)

// Input is everything a decision looks at.
type Input struct {
	Spec    cert.Spec
	Current *cert.Lineage // nil when LoadErr is set
	LoadErr error
	Now     time.Time
	// Server is the configured ACME directory URL.
	Server string
	// DefaultKeyType applies when the spec names none.
	DefaultKeyType cert.KeyType
	// NextWindow is the next maintenance tick (CRON_TIME_STRING); zero
	// when there is no maintenance window.
	NextWindow time.Time
	// ARIStart and ARIEnd are the CA's suggested renewal window (RFC
	// 9773); zero when the CA offers none.
	ARIStart, ARIEnd time.Time
	// Force asks for a new version whatever the certificate's state.
	Force bool
}

// Decision is the outcome of the policy chain.
type Decision struct {
	// Reason says why a new version is needed, or ReasonValid.
	Reason Reason
	// Message adds the details of the reason (which domains, which key
	// types, when the certificate is valid until).
	Message string
	// Urgency says when the work may happen; UrgencyNone when there is
	// nothing to do.
	Urgency Urgency
	// RenewAt is when the current certificate becomes due (zero when
	// there is none).
	RenewAt time.Time
	// RenewBy says what RenewAt follows: ReasonARIWindow (the CA's
	// window) or ReasonRenewalWindow (the lifetime).
	RenewBy Reason
	// NextWindow is the maintenance tick a due renewal waits for (zero
	// without a maintenance window).
	NextWindow time.Time
	// ValidUntil is the current certificate's NotAfter (zero when none).
	ValidUntil time.Time
}

// Issue reports whether a new version must be obtained (now or at the
// maintenance window).
func (d Decision) Issue() bool { return d.Urgency != UrgencyNone }

// String is the reason and its details, for logs.
func (d Decision) String() string {
	if d.Reason == ReasonValid && d.Message == "" && !d.ValidUntil.IsZero() {
		return fmt.Sprintf("%s: valid until %s", d.Reason, d.ValidUntil.UTC().Format(time.RFC3339))
	}
	if d.Message == "" {
		return d.Reason.String()
	}
	return d.Reason.String() + ": " + d.Message
}

// check is one named step of the decision chain: it returns a reason and
// its details when the certificate must be (re)issued, "" otherwise.
type check func(in Input) (Reason, string)

// chain is evaluated in order; the first reason wins (as cert-manager's
// policies.Chain). The checks after unreadable may assume a Current.
var chain = []check{
	missing,
	unreadable,
	domainsChanged,
	keyTypeChanged,
	caChanged,
	expired,
	forced,
	dueForRenewal,
}

// Evaluate runs the decision chain. It is a pure function of its input:
// the daemon, `run --once`, `renew`, `certdock status` and /metrics all
// ask it.
func Evaluate(in Input) Decision {
	d := Decision{NextWindow: in.NextWindow}
	if in.Current != nil && in.LoadErr == nil {
		d.RenewAt, d.RenewBy = renewAt(in), ReasonRenewalWindow
		if hasARI(in) {
			d.RenewBy = ReasonARIWindow
		}
	}
	for _, c := range chain {
		reason, msg := c(in)
		if reason == "" {
			continue
		}
		d.Reason, d.Message, d.Urgency = reason, msg, reason.urgency()
		if d.Urgency == UrgencyDue {
			deadline := renewDeadline(in)
			if in.NextWindow.IsZero() || !in.NextWindow.Before(deadline) || !in.Now.Before(deadline) {
				d.Urgency = UrgencyNow
			}
		}
		return d
	}
	// The details of a valid certificate are formatted by String when
	// asked: a no-op pass over thousands of certificates formats none.
	d.Reason, d.ValidUntil = ReasonValid, in.Current.NotAfter
	return d
}

func missing(in Input) (Reason, string) {
	if errors.Is(in.LoadErr, fs.ErrNotExist) || (in.LoadErr == nil && in.Current == nil) {
		return ReasonMissing, ""
	}
	return "", ""
}

func unreadable(in Input) (Reason, string) {
	if in.LoadErr != nil {
		return ReasonUnreadable, in.LoadErr.Error()
	}
	return "", ""
}

func domainsChanged(in Input) (Reason, string) {
	if !cert.SameDomains(in.Spec.Domains, in.Current.Domains) {
		return ReasonDomainsChanged, fmt.Sprintf("%s → %s", strings.Join(in.Current.Domains, ","), strings.Join(in.Spec.Domains, ","))
	}
	return "", ""
}

func keyTypeChanged(in Input) (Reason, string) {
	want := in.Spec.KeyType
	if want == "" {
		want = in.DefaultKeyType
	}
	if want != "" && in.Current.KeyType != want {
		return ReasonKeyTypeChanged, fmt.Sprintf("%s → %s", in.Current.KeyType, want)
	}
	return "", ""
}

func caChanged(in Input) (Reason, string) {
	if in.Current.Server != "" && in.Server != "" && in.Current.Server != in.Server {
		return ReasonCAChanged, fmt.Sprintf("%s → %s", in.Current.Server, in.Server)
	}
	return "", ""
}

func expired(in Input) (Reason, string) {
	if !in.Now.Before(in.Current.NotAfter) {
		return ReasonExpired, "expired " + in.Current.NotAfter.UTC().Format(time.RFC3339)
	}
	return "", ""
}

func forced(in Input) (Reason, string) {
	if in.Force {
		return ReasonForced, "renewal forced"
	}
	return "", ""
}

func dueForRenewal(in Input) (Reason, string) {
	if in.Now.Before(renewAt(in)) {
		return "", ""
	}
	left := fmt.Sprintf("%s left", in.Current.NotAfter.Sub(in.Now).Round(time.Second))
	if hasARI(in) {
		return ReasonARIWindow, "inside the CA's renewal window, " + left
	}
	return ReasonRenewalWindow, "inside the renewal window, " + left
}

// renewAt is when the current certificate becomes due: a point inside the
// CA's ARI window when there is one, else RenewalTime minus up to 1/30 of
// the lifetime; both jittered per certificate (stable across passes).
func renewAt(in Input) time.Time {
	var serial string
	if in.Current.Leaf != nil {
		serial = in.Current.Leaf.SerialNumber.String()
	} else {
		serial = in.Current.Name + in.Current.NotAfter.String()
	}
	if hasARI(in) {
		return in.ARIStart.Add(jitter(serial, in.ARIEnd.Sub(in.ARIStart)/2))
	}
	life := in.Current.NotAfter.Sub(in.Current.NotBefore)
	return RenewalTime(in.Current.NotBefore, in.Current.NotAfter).Add(-jitter(serial, life/30))
}

// hasARI reports whether the input has a usable ARI window.
func hasARI(in Input) bool { return !in.ARIStart.IsZero() && in.ARIEnd.After(in.ARIStart) }

// renewDeadline is the latest comfortable renewal time: the end of the
// ARI window, else a sixth of the lifetime before expiry.
func renewDeadline(in Input) time.Time {
	if hasARI(in) {
		return in.ARIEnd
	}
	return in.Current.NotAfter.Add(-in.Current.NotAfter.Sub(in.Current.NotBefore) / 6)
}

// RenewalTime is when a certificate becomes due: when a third of its
// lifetime remains, or half for certificates valid 10 days or less (as
// Let's Encrypt recommends for short-lived certificates).
func RenewalTime(notBefore, notAfter time.Time) time.Time {
	life := notAfter.Sub(notBefore)
	if life <= 0 {
		return notBefore
	}
	left := life / 3
	if life <= 10*24*time.Hour {
		left = life / 2
	}
	return notAfter.Add(-left)
}

// jitter returns a stable pseudo-random share of span for a certificate
// (derived from its serial), so renewals of certificates issued together
// spread out, and the same certificate gets the same renewal time on every
// pass and restart.
func jitter(serial string, span time.Duration) time.Duration {
	if span <= 0 {
		return 0
	}
	sum := sha256.Sum256([]byte(serial))
	return time.Duration(binary.BigEndian.Uint64(sum[:8]) % uint64(span))
}
