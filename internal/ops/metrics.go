package ops

import (
	"bytes"
	"cmp"
	"io"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Buckets of the duration histograms, in seconds.
var (
	issuanceBuckets  = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}
	reconcileBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
)

// Issuance results, as passed to ObserveIssuance. Both series exist from
// the start (at zero), so rates and alerts work before the first failure.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// Metrics holds certdock's Prometheus metrics. It is safe for concurrent
// use; WriteTo renders a consistent snapshot. Updates to a nil *Metrics
// are discarded, so callers need not check whether metrics are served.
type Metrics struct {
	version string

	mu        sync.Mutex
	certs     map[string]certMetrics
	issuance  map[string]*histogram // by result
	reconcile *histogram
	actions   map[pair]uint64          // by kind, result
	events    map[pair]uint64          // by kind, action
	delivery  map[pair]deliveryMetrics // by certificate, service
	// lastPass is when the last reconcile pass completed; interval is
	// the daemon's full re-check period (CERTDOCK_CHECK_INTERVAL).
	lastPass time.Time
	interval time.Duration

	// Asked at every scrape, outside mu (see SetSources).
	failures  func() map[string]int
	connected func() bool

	now func() time.Time
}

// snapshot is what the sources said for one scrape.
type snapshot struct {
	failures  map[string]int
	connected *bool
}

type deliveryMetrics struct {
	version int
	failing bool
}

type certMetrics struct {
	notAfter, renewAt time.Time
	ready             bool
}

// pair is a two-label key, ordered by a then b.
type pair struct{ a, b string }

func comparePairs(x, y pair) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) }

// NewMetrics returns empty metrics for the given certdock version (the
// version label of certdock_build_info).
func NewMetrics(version string) *Metrics {
	return &Metrics{
		version: version,
		certs:   map[string]certMetrics{},
		issuance: map[string]*histogram{
			ResultSuccess: newHistogram(issuanceBuckets),
			ResultFailure: newHistogram(issuanceBuckets),
		},
		reconcile: newHistogram(reconcileBuckets),
		actions:   map[pair]uint64{},
		events:    map[pair]uint64{},
		delivery:  map[pair]deliveryMetrics{},
		now:       time.Now,
	}
}

// SetSources registers what is asked at every scrape: failures returns
// the consecutive failed attempts of each failing certificate (the
// controller's persisted record, so a restart keeps the streak), and
// connected whether the Docker engine is connected (nil: certdock runs
// without Docker, and certdock_docker_connected is left out). Either may
// be nil. They must be safe for concurrent use; they are called without
// any lock of Metrics held.
func (m *Metrics) SetSources(failures func() map[string]int, connected func() bool) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failures, m.connected = failures, connected
}

// SetCheckInterval records the daemon's full re-check period, so that an
// alert can tell a pass that is late (certdock_check_interval_seconds).
func (m *Metrics) SetCheckInterval(d time.Duration) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.interval = d
}

// SetCertificate records the state of a desired certificate: when its
// current version expires, when it is due for renewal, and whether it is
// ready (a valid version of it is on disk). A zero time leaves out the
// corresponding series (no version yet, no renewal time known) rather than
// reporting 1970; ready_status is reported in every case.
func (m *Metrics) SetCertificate(name string, notAfter, renewAt time.Time, ready bool) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.certs[name] = certMetrics{notAfter: notAfter, renewAt: renewAt, ready: ready}
}

// DeleteCertificate removes every series of a certificate that is no
// longer desired.
func (m *Metrics) DeleteCertificate(name string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.certs, name)
}

// SetDelivery records the state of one delivery of a certificate to a
// Swarm service: the version the service holds (0: none of certdock's)
// and whether delivering the current version is failing.
func (m *Metrics) SetDelivery(name, service string, version int, failing bool) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delivery[pair{name, service}] = deliveryMetrics{version: version, failing: failing}
}

// DeleteDeliveries removes the delivery series of a certificate that is
// no longer desired.
func (m *Metrics) DeleteDeliveries(name string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.delivery {
		if k.a == name {
			delete(m.delivery, k)
		}
	}
}

// ObserveIssuance counts one attempt to obtain a certificate from the CA
// and how long it took; result is ResultSuccess or ResultFailure.
func (m *Metrics) ObserveIssuance(result string, d time.Duration) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.issuance[result]
	if !ok {
		h = newHistogram(issuanceBuckets)
		m.issuance[result] = h
	}
	h.observe(seconds(d))
}

// ObserveAction counts one action run on a workload, by kind (restart,
// force-update, signal, exec) and result.
func (m *Metrics) ObserveAction(kind, result string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.actions[pair{kind, result}]++
}

// ObserveReconcile records the duration of one reconcile pass.
func (m *Metrics) ObserveReconcile(d time.Duration) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reconcile.observe(seconds(d))
	m.lastPass = m.now()
}

// ObserveDockerEvent counts one Docker event, by object kind (container,
// service) and action (start, destroy, update...).
func (m *Metrics) ObserveDockerEvent(kind, action string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events[pair{kind, action}]++
}

// seconds converts a duration, counting a negative one (a clock step) as
// zero.
func seconds(d time.Duration) float64 { return max(d, 0).Seconds() }

// family is one metric family: its samples are written with m.mu held.
type family struct {
	name, typ, help string
	write           func(m *Metrics, s snapshot, e expo, name string)
}

// families are written in order of name.
var families = sortedFamilies([]family{
	{"certdock_build_info", "gauge",
		"A constant 1, labelled with the certdock version and the Go version that built it.",
		func(m *Metrics, _ snapshot, e expo, name string) {
			e.sample(name, []label{{"goversion", runtime.Version()}, {"version", m.version}}, 1)
		}},
	{"certdock_certificate_expiration_timestamp_seconds", "gauge",
		"When the current version of the certificate expires (NotAfter), in seconds since the Unix epoch.",
		func(m *Metrics, _ snapshot, e expo, name string) {
			m.eachCert(func(n string, c certMetrics) {
				if !c.notAfter.IsZero() {
					e.sample(name, []label{{"name", n}}, float64(c.notAfter.Unix()))
				}
			})
		}},
	{"certdock_certificate_renewal_timestamp_seconds", "gauge",
		"When the current version of the certificate is due for renewal, in seconds since the Unix epoch.",
		func(m *Metrics, _ snapshot, e expo, name string) {
			m.eachCert(func(n string, c certMetrics) {
				if !c.renewAt.IsZero() {
					e.sample(name, []label{{"name", n}}, float64(c.renewAt.Unix()))
				}
			})
		}},
	{"certdock_certificate_ready_status", "gauge",
		"The ready status of the certificate: 1 on the series of its condition (True when a valid version of the desired certificate is on disk), 0 on the other.",
		func(m *Metrics, _ snapshot, e expo, name string) {
			m.eachCert(func(n string, c certMetrics) {
				e.sample(name, []label{{"name", n}, {"condition", "False"}}, boolValue(!c.ready))
				e.sample(name, []label{{"name", n}, {"condition", "True"}}, boolValue(c.ready))
			})
		}},
	{"certdock_certificate_failures", "gauge",
		"Consecutive failed attempts to obtain the certificate; 0 when the last attempt succeeded or none failed.",
		func(m *Metrics, s snapshot, e expo, name string) {
			m.eachCert(func(n string, _ certMetrics) {
				e.sample(name, []label{{"name", n}}, float64(s.failures[n]))
			})
		}},
	{"certdock_docker_connected", "gauge",
		"1 while certdock is connected to the Docker engine (its event stream is up), else 0; absent without Docker.",
		func(m *Metrics, s snapshot, e expo, name string) {
			if s.connected != nil {
				e.sample(name, nil, boolValue(*s.connected))
			}
		}},
	{"certdock_reconcile_last_completion_timestamp_seconds", "gauge",
		"When the last reconcile pass completed, in seconds since the Unix epoch; absent before the first.",
		func(m *Metrics, _ snapshot, e expo, name string) {
			if !m.lastPass.IsZero() {
				e.sample(name, nil, float64(m.lastPass.UnixMilli())/1000)
			}
		}},
	{"certdock_check_interval_seconds", "gauge",
		"The daemon's full re-check period (CERTDOCK_CHECK_INTERVAL): a pass completes at least this often.",
		func(m *Metrics, _ snapshot, e expo, name string) {
			if m.interval > 0 {
				e.sample(name, nil, m.interval.Seconds())
			}
		}},
	{"certdock_issuance_total", "counter",
		"Attempts to obtain a certificate from the CA, by result (success, failure).",
		func(m *Metrics, _ snapshot, e expo, name string) {
			for _, r := range slices.Sorted(maps.Keys(m.issuance)) {
				e.sample(name, []label{{"result", r}}, float64(m.issuance[r].count))
			}
		}},
	{"certdock_issuance_duration_seconds", "histogram",
		"Time taken to obtain a certificate from the CA, by result (success, failure).",
		func(m *Metrics, _ snapshot, e expo, name string) {
			for _, r := range slices.Sorted(maps.Keys(m.issuance)) {
				m.issuance[r].write(e, name, []label{{"result", r}})
			}
		}},
	{"certdock_actions_total", "counter",
		"Actions run on workloads after a certificate changed, by kind (restart, force-update, signal, exec) and result.",
		func(m *Metrics, _ snapshot, e expo, name string) {
			for _, k := range slices.SortedFunc(maps.Keys(m.actions), comparePairs) {
				e.sample(name, []label{{"kind", k.a}, {"result", k.b}}, float64(m.actions[k]))
			}
		}},
	{"certdock_delivery_version", "gauge",
		"The version of the certificate (N of archive/<name>/certN.pem) that a Swarm service holds as secrets; 0 when it holds none of certdock's.",
		func(m *Metrics, _ snapshot, e expo, name string) {
			for _, k := range slices.SortedFunc(maps.Keys(m.delivery), comparePairs) {
				e.sample(name, []label{{"name", k.a}, {"service", k.b}}, float64(m.delivery[k].version))
			}
		}},
	{"certdock_delivery_failing", "gauge",
		"1 when delivering the certificate's current version to the Swarm service fails (update paused or rolled back, collision, service missing), else 0.",
		func(m *Metrics, _ snapshot, e expo, name string) {
			for _, k := range slices.SortedFunc(maps.Keys(m.delivery), comparePairs) {
				e.sample(name, []label{{"name", k.a}, {"service", k.b}}, boolValue(m.delivery[k].failing))
			}
		}},
	{"certdock_reconcile_duration_seconds", "histogram",
		"Time taken by a reconcile pass: reading the sources, recomputing the desired set and deciding what needs work.",
		func(m *Metrics, _ snapshot, e expo, name string) {
			m.reconcile.write(e, name, nil)
		}},
	{"certdock_docker_events_total", "counter",
		"Docker events received, by object kind (container, service) and action.",
		func(m *Metrics, _ snapshot, e expo, name string) {
			for _, k := range slices.SortedFunc(maps.Keys(m.events), comparePairs) {
				e.sample(name, []label{{"kind", k.a}, {"action", k.b}}, float64(m.events[k]))
			}
		}},
})

func sortedFamilies(fs []family) []family {
	slices.SortFunc(fs, func(a, b family) int { return cmp.Compare(a.name, b.name) })
	return fs
}

// eachCert calls f for every certificate in order of name.
func (m *Metrics) eachCert(f func(name string, c certMetrics)) {
	for _, n := range slices.Sorted(maps.Keys(m.certs)) {
		f(n, m.certs[n])
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// WriteTo writes every metric in the Prometheus text exposition format
// (version 0.0.4, see ContentType): families in order of name, each with
// its HELP and TYPE lines, samples in order of their label values, and
// histogram buckets in ascending order ending with le="+Inf". It
// implements io.WriterTo.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	e := expo{&b}
	s := m.snapshot()
	m.mu.Lock()
	for _, f := range families {
		e.header(f.name, f.typ, f.help)
		f.write(m, s, e, f.name)
	}
	m.mu.Unlock()
	return b.WriteTo(w)
}

var _ io.WriterTo = (*Metrics)(nil)

// snapshot asks the sources, without holding mu.
func (m *Metrics) snapshot() snapshot {
	m.mu.Lock()
	failures, connected := m.failures, m.connected
	m.mu.Unlock()
	var s snapshot
	if failures != nil {
		s.failures = failures()
	}
	if connected != nil {
		c := connected()
		s.connected = &c
	}
	return s
}
