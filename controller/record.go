package controller

import (
	"slices"
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
	// NeedsConfig: the last failure was a configuration error (missing
	// credential, unknown provider, names the CA refuses). It is retried
	// when the configuration or the certificate's spec changes, else on
	// the slow schedule (NextAttempt).
	NeedsConfig bool
	// FailedSpec and FailedConfig fingerprint the spec and the
	// configuration of the last failure (a change retries at once).
	FailedSpec, FailedConfig string
	// Notified: the failure notification ran for the current streak.
	Notified bool
	// WaitingRecords, when not empty, says the failure streak is a wait
	// for DNS records the user creates once (dns-persist-01): the records
	// to create, in zone-file syntax. LastError says what is wrong.
	WaitingRecords []string
	// ARI is the CA's last renewal-window answer for the current
	// certificate, nil when never asked.
	ARI *ARIRecord
	// Deliveries are the states of the certificate's deliveries (Swarm
	// secrets), one per service, sorted by service.
	Deliveries []DeliveryRecord
}

// DeliveryRecord is the state of one delivery of a certificate.
type DeliveryRecord struct {
	// Service is the workload delivered to.
	Service string
	// Version is the version the workload has (0: none of certdock's).
	Version int
	// Error says why it does not have the current version; empty when
	// it does.
	Error string
	// Since is when the delivery entered this state.
	Since time.Time
}

// ARIRecord is a CA's renewal-window answer (or error) for one
// certificate, kept so a new process need not ask again while fresh.
type ARIRecord struct {
	// Serial is the certificate's serial number (decimal).
	Serial string
	// Start and End bound the window; zero when the CA offers none.
	Start, End time.Time
	// Fetched is when the CA answered; NextFetch is when to ask again
	// (its Retry-After, or the retry time after an error).
	Fetched, NextFetch time.Time
	// Err is the last lookup error, empty when the answer was good.
	Err string
}

// Clone returns r with its Targets, ARI and Deliveries copied, so that neither copy
// shares them with the other.
func (r Record) Clone() Record {
	r.Targets = slices.Clone(r.Targets)
	r.Deliveries = slices.Clone(r.Deliveries)
	r.WaitingRecords = slices.Clone(r.WaitingRecords)
	if r.ARI != nil {
		a := *r.ARI
		r.ARI = &a
	}
	return r
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
	return r.Clone(), ok
}

func (m *memMemory) Put(name string, r Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[name] = r.Clone()
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

func (m *memMemory) Defer() func() { return func() {} }
