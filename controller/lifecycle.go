package controller

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

	"github.com/certdock/certdock/cert"
)

// Record is what the controller remembers of one certificate across
// restarts.
type Record struct {
	// Owned: certdock issued (or adopted) this lineage, so removal rules
	// apply to it. Lineages certdock never wrote are never removed.
	Owned bool
	// Origin says who wanted it last: cert.FromFile or cert.FromLabel.
	Origin cert.SourceKind
	// LastWanted is the last pass in which a source wanted it.
	LastWanted time.Time
	// Source and Targets describe, for `certdock status`, what wanted it
	// last (a domains.conf line or a workload) and the actions it
	// triggers (cert.Action.String).
	Source  string
	Targets []string
	// Failures counts consecutive failed attempts; NextAttempt is when
	// the next one may start; LastError describes the last failure.
	Failures    int
	NextAttempt time.Time
	LastError   string
	// Notified: the failure notification ran for the current streak.
	Notified bool
}

// Deferrer is an optional interface of a Memory that can hold its
// changes and persist them at once: Defer starts holding, and calling the
// function it returns persists what changed meanwhile.
type Deferrer interface {
	Defer() (done func())
}

// Memory persists Records (certdock's state file). Implementations must be
// safe for concurrent use.
type Memory interface {
	Get(name string) (Record, bool)
	Put(name string, r Record)
	Delete(name string)
	Names() []string
}

// NewMemory returns a Memory kept in process memory only.
func NewMemory() Memory { return &memMemory{m: map[string]Record{}} }

type memMemory struct {
	mu sync.Mutex
	m  map[string]Record
}

func (m *memMemory) Get(name string) (Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.m[name]
	return r, ok
}

func (m *memMemory) Put(name string, r Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[name] = r
}

func (m *memMemory) Delete(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, name)
}

func (m *memMemory) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.m))
	for n := range m.m {
		out = append(out, n)
	}
	return out
}

// Deployer runs the deploy steps that follow the files of a new version,
// in order: PFX, modes and owners, DEPLOY_HOOK. Docker actions come after
// it. An error is reported but does not fail the certificate: the new
// version is already on disk.
type Deployer interface {
	Deploy(ctx context.Context, spec cert.Spec, lin *cert.Lineage) error
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

// Remover deletes a lineage from disk (live/, archive/, renewal/).
type Remover interface {
	Remove(name string) error
}

// Renewer is an Issuer that can replace an existing certificate (ARI
// ReplacesCertID, key reuse); the controller uses it when a current
// version exists.
type Renewer interface {
	Renew(ctx context.Context, spec cert.Spec, cur *cert.Lineage) (cert.Bundle, cert.IssueMeta, error)
}

// Revoker revokes a certificate at the CA.
type Revoker interface {
	Revoke(ctx context.Context, certPEM []byte) error
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

// Observer is told what the controller does, for metrics. All methods
// must be cheap and safe for concurrent use.
type Observer interface {
	// Issued reports an issuance attempt (err nil on success).
	Issued(name string, took time.Duration, err error)
	// Reconciled reports a full pass.
	Reconciled(took time.Duration)
	// Certificate reports a desired certificate's current state: its
	// lineage (nil when missing or unreadable), when it is due, and
	// whether it is ready (valid, matching what is wanted).
	Certificate(name string, lin *cert.Lineage, renewAt time.Time, ready bool)
	// Forgot reports that a certificate left the desired set.
	Forgot(name string)
}
