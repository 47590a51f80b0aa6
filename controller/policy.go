package controller

import (
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
}

// Decision is the outcome of the policy chain.
type Decision struct {
	// Issue is true when a new version must be obtained.
	Issue bool
	// Reason says why (or why not), for logs and status.
	Reason string
	// RenewAt is when the current certificate becomes due (zero when
	// there is none).
	RenewAt time.Time
	// Urgent is true when the work must not wait for the maintenance
	// window: a new or changed certificate, a different CA, an expired
	// one, or one whose renewal deadline (the end of the ARI window, else
	// a sixth of the lifetime before expiry) comes before the next tick.
	Urgent bool
}

// check is one named step of the decision chain: it returns a reason when
// the certificate must be (re)issued, "" otherwise.
type check func(in Input) string

// chain is evaluated in order; the first reason wins (as cert-manager's
// policies.Chain).
var chain = []check{
	missing,
	unreadable,
	domainsChanged,
	keyTypeChanged,
	caChanged,
	dueForRenewal,
}

// Decide runs the decision chain. It is a pure function of its input.
func Decide(in Input) Decision {
	d := Decision{}
	if in.Current != nil {
		d.RenewAt = renewAt(in)
	}
	for _, c := range chain {
		if reason := c(in); reason != "" {
			d.Issue, d.Reason, d.Urgent = true, reason, true
			if reason == dueReason(in) {
				deadline := renewDeadline(in)
				d.Urgent = in.NextWindow.IsZero() || !in.NextWindow.Before(deadline) || !in.Now.Before(deadline)
				if !d.Urgent {
					d.Reason += fmt.Sprintf("; waiting for the maintenance window at %s", in.NextWindow.UTC().Format(time.RFC3339))
				}
			}
			return d
		}
	}
	d.Reason = fmt.Sprintf("valid until %s, renewal due %s", in.Current.NotAfter.UTC().Format(time.RFC3339), d.RenewAt.UTC().Format(time.RFC3339))
	return d
}

func missing(in Input) string {
	if errors.Is(in.LoadErr, fs.ErrNotExist) || (in.LoadErr == nil && in.Current == nil) {
		return "certificate missing"
	}
	return ""
}

func unreadable(in Input) string {
	if in.LoadErr != nil {
		return "certificate unreadable: " + in.LoadErr.Error()
	}
	return ""
}

func domainsChanged(in Input) string {
	if !cert.SameDomains(in.Spec.Domains, in.Current.Domains) {
		return fmt.Sprintf("domains changed: %s -> %s", strings.Join(in.Current.Domains, ","), strings.Join(in.Spec.Domains, ","))
	}
	return ""
}

func keyTypeChanged(in Input) string {
	want := in.Spec.KeyType
	if want == "" {
		want = in.DefaultKeyType
	}
	if want != "" && in.Current.KeyType != want {
		return fmt.Sprintf("key type changed: %s -> %s", in.Current.KeyType, want)
	}
	return ""
}

func caChanged(in Input) string {
	if in.Current.Server != "" && in.Server != "" && in.Current.Server != in.Server {
		return fmt.Sprintf("CA changed: %s -> %s", in.Current.Server, in.Server)
	}
	return ""
}

func dueForRenewal(in Input) string {
	if !in.Now.Before(in.Current.NotAfter) {
		return "certificate expired"
	}
	return dueReason(in)
}

// dueReason is the reason given for a certificate that is merely due.
func dueReason(in Input) string {
	if in.Current == nil || !in.Now.Before(in.Current.NotAfter) || in.Now.Before(renewAt(in)) {
		return ""
	}
	left := in.Current.NotAfter.Sub(in.Now).Round(time.Second)
	if !in.ARIStart.IsZero() {
		return fmt.Sprintf("inside the CA's renewal window (ARI, %s left)", left)
	}
	return fmt.Sprintf("inside renewal window (%s left)", left)
}

// renewAt is when the current certificate becomes due: a point inside the
// CA's ARI window when there is one, else RenewalTime minus up to 1/30 of
// the lifetime; both jittered per certificate (stable across passes).
func renewAt(in Input) time.Time {
	serial := in.Current.Name + in.Current.NotAfter.String()
	if in.Current.Leaf != nil {
		serial = in.Current.Leaf.SerialNumber.String()
	}
	if !in.ARIStart.IsZero() && in.ARIEnd.After(in.ARIStart) {
		return in.ARIStart.Add(jitter(serial, in.ARIEnd.Sub(in.ARIStart)/2))
	}
	life := in.Current.NotAfter.Sub(in.Current.NotBefore)
	return RenewalTime(in.Current.NotBefore, in.Current.NotAfter).Add(-jitter(serial, life/30))
}

// renewDeadline is the latest comfortable renewal time: the end of the
// ARI window, else a sixth of the lifetime before expiry.
func renewDeadline(in Input) time.Time {
	if !in.ARIEnd.IsZero() {
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
