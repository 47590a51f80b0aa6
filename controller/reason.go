package controller

// Reason says why a certificate needs work, or that it needs none. Status,
// metrics and logs all quote the reason of one evaluation (Evaluate).
type Reason string

// The reasons, in the order the decision chain checks them.
const (
	// ReasonMissing: no version exists yet.
	ReasonMissing Reason = "certificate missing"
	// ReasonUnreadable: the current version is broken on disk.
	ReasonUnreadable Reason = "unreadable"
	// ReasonDomainsChanged: the names wanted differ from the certificate's.
	ReasonDomainsChanged Reason = "domains changed"
	// ReasonKeyTypeChanged: the key type wanted differs from the certificate's.
	ReasonKeyTypeChanged Reason = "key type changed"
	// ReasonCAChanged: the certificate came from another CA than the configured one.
	ReasonCAChanged Reason = "CA changed"
	// ReasonExpired: the certificate is past its NotAfter.
	ReasonExpired Reason = "expired"
	// ReasonARIWindow: inside the CA's suggested renewal window (RFC 9773).
	ReasonARIWindow Reason = "ARI window"
	// ReasonRenewalWindow: inside the lifetime-based renewal window.
	ReasonRenewalWindow Reason = "renewal window"
	// ReasonForced: renewal asked for by `certdock renew --force`.
	ReasonForced Reason = "forced"
	// ReasonValid: nothing to do until the renewal time.
	ReasonValid Reason = "valid"
)

// Urgency says when the work a reason calls for may happen.
type Urgency int

// Urgencies, from none to immediate.
const (
	// UrgencyNone: nothing to do.
	UrgencyNone Urgency = iota
	// UrgencyDue: renew at the next maintenance window (CRON_TIME_STRING).
	UrgencyDue
	// UrgencyNow: do it at once.
	UrgencyNow
)

// urgency is the urgency a reason carries by itself; Evaluate raises a due
// renewal to UrgencyNow when its deadline would pass before the window.
func (r Reason) urgency() Urgency {
	switch r {
	case ReasonValid, "":
		return UrgencyNone
	case ReasonARIWindow, ReasonRenewalWindow:
		return UrgencyDue
	default:
		return UrgencyNow
	}
}

// String returns the reason as status and logs print it.
func (r Reason) String() string { return string(r) }
