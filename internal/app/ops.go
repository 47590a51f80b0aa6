package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/internal/certstatus"
	"github.com/certdock/certdock/internal/memtrim"
	"github.com/certdock/certdock/internal/ops"
	"github.com/certdock/certdock/internal/statuspage"
)

// observer feeds the controller's events into metrics and health.
type observer struct {
	m        *ops.Metrics
	h        *ops.Health
	stateDir string
}

var _ controller.Observer = observer{}

// Issued implements controller.Observer.
func (o observer) Issued(_ string, took time.Duration, err error) {
	result := ops.ResultSuccess
	if err != nil {
		result = ops.ResultFailure
	}
	o.m.ObserveIssuance(result, took)
}

// Reconciled implements controller.Observer: every pass checks that the
// store is writable.
func (o observer) Reconciled(took time.Duration) {
	o.m.ObserveReconcile(took)
	o.h.SetCheck("store", probeWritable(o.stateDir))
}

// Ready implements controller.Observer: certdock is ready once its first
// pass is complete (every certificate of it issued, failed or deferred).
//
// Once ready, the memory only start-up needed is given back (best
// effort, see package memtrim): the pages of the executable that package
// initialisation touched, and the heap freed since.
func (o observer) Ready() {
	o.h.SetReady()
	memtrim.Release() //nolint:errcheck // a kernel without MADV_PAGEOUT keeps the pages: nothing else to do
}

// Certificate implements controller.Observer.
func (o observer) Certificate(name string, lin *cert.Lineage, renewAt time.Time, ready bool) {
	if lin == nil {
		o.m.SetCertificate(name, time.Time{}, time.Time{}, false)
		return
	}
	o.m.SetCertificate(name, lin.NotAfter, renewAt, ready)
}

// Forgot implements controller.Observer.
func (o observer) Forgot(name string) {
	o.m.DeleteCertificate(name)
	o.m.DeleteDeliveries(name)
}

// Delivered implements controller.Observer.
func (o observer) Delivered(d controller.Delivered) {
	o.m.SetDelivery(d.Name, d.Service, d.Version, d.Err != nil && !controller.Waiting(d.Err))
}

// probeWritable creates and removes a file in dir.
func probeWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// countingActor counts each action's result for metrics, acting on one
// action at a time so every result is known.
type countingActor struct {
	next controller.Actor
	m    *ops.Metrics
}

// Act implements controller.Actor.
func (c countingActor) Act(ctx context.Context, actions []cert.Action) []error {
	var errs []error
	for _, a := range actions {
		kind := string(a.Kind)
		if a.Service && a.Kind == cert.Restart {
			kind = "force-update"
		}
		e := c.next.Act(ctx, []cert.Action{a})
		result := ops.ResultSuccess
		if len(e) > 0 {
			result = ops.ResultFailure
		}
		c.m.ObserveAction(kind, result)
		errs = append(errs, e...)
	}
	return errs
}

// listen binds CERTDOCK_LISTEN at start-up, so a taken port is an error
// at once, not a silent missing endpoint.
func (a *App) listen() (net.Listener, error) {
	if a.Config.Listen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", a.Config.Listen)
	if err != nil {
		return nil, fmt.Errorf("CERTDOCK_LISTEN=%s: %w", a.Config.Listen, err)
	}
	return ln, nil
}

// dockerProbe reports the Docker connection's health for /healthz.
func dockerProbe(d Docker) func() error {
	return func() error {
		if !d.Healthy() {
			return errors.New("not connected to the Docker engine (retrying)")
		}
		return nil
	}
}

func stateDir(dir string) string { return filepath.Join(dir, "certdock") }

// handler serves CERTDOCK_LISTEN: /healthz and /metrics, the status page
// (/) and its JSON (/api/status, what `certdock status --json` prints),
// as the daemon's last pass saw the certificates.
func (a *App) handler() http.Handler {
	// What /metrics asks at every scrape, for the alert rules
	// (deploy/prometheus/alerts.yml).
	var connected func() bool
	if a.Docker != nil {
		connected = a.Docker.Healthy
	}
	a.Metrics.SetSources(a.failures, connected)
	a.Metrics.SetCheckInterval(a.Config.CheckInterval)
	mux := http.NewServeMux()
	o := ops.Handler(a.Metrics, a.Health)
	mux.Handle("/healthz", o)
	mux.Handle("/metrics", o)
	statuspage.Register(mux, a.statusRows, statuspage.Options{})
	return mux
}

// statusRows are the rows of the status page and /api/status.
func (a *App) statusRows(ctx context.Context) ([]certstatus.Row, []error) {
	certs, problems := a.Controller.Current(ctx)
	rows, _ := certstatus.Rows(certs, time.Now())
	return rows, problems
}

// failures are the consecutive failed attempts of each failing
// certificate, as the controller recorded them.
func (a *App) failures() map[string]int {
	out := map[string]int{}
	for name, f := range a.Controller.Failures() {
		out[name] = f.Count
	}
	return out
}
