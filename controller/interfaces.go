package controller

import (
	"context"
	"crypto/x509"
	"errors"
	"time"

	"github.com/certdock/certdock/cert"
)

// Issuer talks to the CA.
type Issuer interface {
	// Server is the configured ACME directory URL.
	Server() string
	// Issue obtains a new version for spec. cur is the current version
	// when one exists (a renewal: it may be replaced by ARI and its key
	// reused), nil otherwise.
	Issue(ctx context.Context, spec cert.Spec, cur *cert.Lineage) (cert.Bundle, cert.IssueMeta, error)
	// Revoke revokes one certificate (PEM) at the CA.
	Revoke(ctx context.Context, certPEM []byte) error
	// RenewalWindow asks the CA for its suggested renewal window (ARI,
	// RFC 9773); ErrNoWindow when the CA offers none.
	RenewalWindow(ctx context.Context, leaf *x509.Certificate) (Window, error)
}

// Window is a CA's suggested renewal window for one certificate.
type Window struct {
	Start, End time.Time
	// RetryAfter is when the CA asks to be asked again (zero: not said).
	RetryAfter time.Duration
}

// ErrNoWindow is returned by RenewalWindow when the CA offers no renewal
// information: renewals are then scheduled by lifetime alone.
var ErrNoWindow = errors.New("the CA offers no renewal information (ARI)")

// Store reads and writes lineages.
type Store interface {
	// Load returns the current version; an error wrapping fs.ErrNotExist
	// when there is none.
	Load(name string) (*cert.Lineage, error)
	// Save writes a new version completely before it becomes live.
	Save(name string, b cert.Bundle, meta cert.IssueMeta) (*cert.Lineage, error)
	// Versions returns every complete version of a lineage, oldest first.
	Versions(name string) ([]cert.Version, error)
	// Remove deletes a lineage (live/, archive/, renewal/).
	Remove(name string) error
	// Names lists the lineages present.
	Names() ([]string, error)
}

// Source produces desired certificates. Problems (bad lines, bad labels)
// are reported alongside the specs that are still served. complete is
// false when the source could not be read whole (domains.conf missing,
// unreadable or with a bad line): nothing it may define is then removed.
type Source interface {
	Desired(ctx context.Context) (specs []cert.Spec, problems []error, complete bool)
}

// Forcer is a Source that asks for a new version of some of its
// certificates whatever their state, once: dnsrobocert's force_renew,
// honoured each time its file is applied. Forced is called once per pass
// that acts (not by status), after Desired, and returns the names to force
// in that pass; it forgets them once returned.
type Forcer interface {
	Forced() []string
}

// SourceFunc adapts a function to Source. The source counts as complete
// unless a problem wraps ErrSourceUnavailable.
type SourceFunc func(ctx context.Context) ([]cert.Spec, []error)

// Desired implements Source.
func (f SourceFunc) Desired(ctx context.Context) ([]cert.Spec, []error, bool) {
	specs, problems := f(ctx)
	for _, p := range problems {
		if errors.Is(p, ErrSourceUnavailable) {
			return specs, problems, false
		}
	}
	return specs, problems, true
}

// ErrSourceUnavailable marks a source problem that means the source could
// not be read at all (not a bad line): nothing is pruned in that pass.
var ErrSourceUnavailable = errors.New("source unavailable")

// Actor performs the actions of changed certificates (restart, signal,
// exec, force-update). It gets each target at most once per call.
type Actor interface {
	Act(ctx context.Context, actions []cert.Action) []error
}

// Memory persists Records (certdock's state file). Implementations must be
// safe for concurrent use. A Record from Get may share its Targets and ARI
// with the Memory: callers replace them, never modify them in place.
type Memory interface {
	Get(name string) (Record, bool)
	Put(name string, r Record)
	Delete(name string)
	Names() []string
	// Defer holds changes in memory until the returned function runs,
	// then persists them at once (a pass touching every certificate
	// writes once). Calls nest.
	Defer() (done func())
}

// Deliverer keeps certificates delivered to workloads besides the files
// on the volume (Swarm secrets). It is level-triggered: after every pass
// it is given every delivery the desired set wants, each with its
// certificate's current version, and makes the world match, changing
// only what differs. It returns one result per delivery.
type Deliverer interface {
	Deliver(ctx context.Context, wants []Delivery) []Delivered
}

// Delivery is one certificate version to keep delivered to one workload.
type Delivery struct {
	// Spec is the certificate (its name is the lineage's).
	Spec cert.Spec
	// To says where and how (cert.DeliverSecrets: a Swarm service).
	To cert.Delivery
	// Lineage is the current version on disk.
	Lineage *cert.Lineage
}

// Delivered is the result of one Delivery.
type Delivered struct {
	// Name is the certificate's, Service the workload's.
	Name, Service string
	// Version is the version the workload now has (0 when it has none).
	Version int
	// Changed: the workload was updated in this call.
	Changed bool
	// Err is why the workload does not have the wanted version.
	Err error
}

// Deployer runs the deploy steps that follow the files of a new version,
// in order: PFX, modes and owners, DEPLOY_HOOK. Docker actions come after
// it. An error is reported but does not fail the certificate: the new
// version is already on disk.
type Deployer interface {
	Deploy(ctx context.Context, spec cert.Spec, lin *cert.Lineage) error
}

// FinalDeployer is a Deployer with a last step, run once the Docker
// actions that follow a new version have run (or were skipped):
// dnsrobocert's deploy_hook, which dnsrobocert runs after autorestart and
// autocmd. An error is reported, as Deploy's.
type FinalDeployer interface {
	Deployer
	DeployFinal(ctx context.Context, spec cert.Spec) error
}

// Notifier is told once per failure streak that a certificate failed
// (CERTDOCK_ON_FAILURE).
type Notifier interface {
	Failed(ctx context.Context, spec cert.Spec, err error, failures int)
}

// Locker serialises work on one certificate across processes, so
// `certdock renew --force` next to a running daemon never orders twice.
type Locker interface {
	Lock(ctx context.Context, name string) (unlock func(), err error)
}

// Observer is told what the controller does, for metrics and health. All
// methods must be cheap and safe for concurrent use.
type Observer interface {
	// Issued reports an issuance attempt (err nil on success).
	Issued(name string, took time.Duration, err error)
	// Reconciled reports a full pass (its decisions made and queued).
	Reconciled(took time.Duration)
	// Ready reports that the daemon's first pass is complete: every
	// certificate of it issued, failed or deliberately deferred.
	Ready()
	// Certificate reports a desired certificate's current state: its
	// lineage (nil when missing or unreadable), when it is due, and
	// whether it is ready (valid, matching what is wanted).
	Certificate(name string, lin *cert.Lineage, renewAt time.Time, ready bool)
	// Forgot reports that a certificate left the desired set.
	Forgot(name string)
	// Delivered reports a delivery's state after a Deliverer's call.
	Delivered(d Delivered)
}
