package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/certdock/certdock/cert"
)

// errNoDeliverer is the result of every delivery when the controller has
// no Deliverer (no Docker connection).
var errNoDeliverer = errors.New("not delivered: no connection to a Swarm manager")

// errNoVersion is the result of a delivery whose certificate has no
// version on disk yet.
var errNoVersion = errors.New("waiting for the certificate's first version")

// Waiting reports whether a delivery's error only says it waits for the
// certificate's first version (not a failure).
func Waiting(err error) bool { return errors.Is(err, errNoVersion) }

// deliver hands every delivery of the desired set, with its certificate's
// current version, to the Deliverer and records the results. It is
// level-triggered: whatever changed a workload since (a stack re-deployed
// without certdock's secrets) is repaired, and a workload already right is
// left alone. After the last delivery leaves the desired set, the
// Deliverer is called once more with none, so it can clean up.
func (c *Controller) deliver(ctx context.Context) {
	c.mu.Lock()
	var specs []cert.Spec
	for _, s := range c.desired {
		if len(s.Deliveries) > 0 {
			specs = append(specs, s)
		}
	}
	had := c.delivering
	c.delivering = len(specs) > 0
	c.mu.Unlock()
	if len(specs) == 0 && !had {
		return
	}
	slices.SortFunc(specs, func(a, b cert.Spec) int { return cmp.Compare(a.Name, b.Name) })

	var wants []Delivery
	var results []Delivered
	for _, s := range specs {
		lin, err := c.store.Load(s.Name)
		for _, to := range s.Deliveries {
			switch {
			case err != nil:
				results = append(results, Delivered{Name: s.Name, Service: to.Service, Err: errNoVersion})
			case c.opts.Deliverer == nil:
				results = append(results, Delivered{Name: s.Name, Service: to.Service, Err: errNoDeliverer})
			default:
				wants = append(wants, Delivery{Spec: s, To: to, Lineage: lin})
			}
		}
	}
	if c.opts.Deliverer != nil && (len(wants) > 0 || had) {
		results = append(results, c.opts.Deliverer.Deliver(ctx, wants)...)
	}
	if ctx.Err() != nil {
		return // shutting down: the results say nothing of the services
	}
	c.recordDeliveries(ctx, specs, results)
}

// recordDeliveries keeps each certificate's delivery results in its
// record (for status), tells the Observer, logs what changed and notifies
// a delivery that starts failing, once per streak.
func (c *Controller) recordDeliveries(ctx context.Context, specs []cert.Spec, results []Delivered) {
	done := c.opts.Memory.Defer()
	defer done()
	byName := map[string][]Delivered{}
	for _, d := range results {
		byName[d.Name] = append(byName[d.Name], d)
		if c.opts.Observer != nil {
			c.opts.Observer.Delivered(d)
		}
	}
	now := c.opts.Now()
	for _, s := range specs {
		prev, _ := c.opts.Memory.Get(s.Name)
		next := deliveryRecords(prev.Deliveries, byName[s.Name], now)
		for _, d := range byName[s.Name] {
			c.logDelivery(ctx, s, d, prev.Deliveries)
		}
		if !slices.Equal(prev.Deliveries, next) {
			c.update(s.Name, func(r *Record) { r.Deliveries = next })
		}
	}
	// Certificates that no longer deliver anywhere forget their results:
	// those recorded by the previous run, or, in the first run of the
	// process, any record that has some.
	wanted := make(map[string]bool, len(specs))
	for _, s := range specs {
		wanted[s.Name] = true
	}
	c.mu.Lock()
	before := c.deliveryNames
	c.deliveryNames = wanted
	c.mu.Unlock()
	if before == nil {
		before = map[string]bool{}
		for _, name := range c.opts.Memory.Names() {
			before[name] = true
		}
	}
	for name := range before {
		if wanted[name] {
			continue
		}
		if r, _ := c.opts.Memory.Get(name); len(r.Deliveries) > 0 {
			c.update(name, func(r *Record) { r.Deliveries = nil })
		}
	}
}

// logDelivery logs a delivery result: a change or a new failure at once,
// a persisting failure at debug level, and notifies a new failure.
func (c *Controller) logDelivery(ctx context.Context, s cert.Spec, d Delivered, prev []DeliveryRecord) {
	log := c.log.With("cert", d.Name, "service", d.Service)
	var was DeliveryRecord
	if i := slices.IndexFunc(prev, func(r DeliveryRecord) bool { return r.Service == d.Service }); i >= 0 {
		was = prev[i]
	}
	switch {
	case d.Err == nil && d.Changed:
		log.Info("certificate delivered as Swarm secrets", "version", d.Version)
	case d.Err == nil && was.Error != "":
		log.Info("delivery works again", "version", d.Version)
	case d.Err == nil:
	case errors.Is(d.Err, errNoVersion):
		log.Debug("delivery waits for the certificate")
	case was.Error == d.Err.Error():
		log.Debug("delivery still failing", "err", d.Err)
	default:
		log.Error("delivery failed", "err", d.Err, "delivered_version", d.Version)
		if c.opts.Notifier != nil && (was.Error == "" || was.Error == errNoVersion.Error()) {
			c.opts.Notifier.Failed(ctx, s, fmt.Errorf("deliver to service %s: %w", d.Service, d.Err), 1)
		}
	}
}

// deliveryRecords returns a certificate's delivery records after results:
// one per service, sorted, Since kept while the state is unchanged.
func deliveryRecords(prev []DeliveryRecord, results []Delivered, now time.Time) []DeliveryRecord {
	byService := map[string]DeliveryRecord{}
	for _, d := range results {
		r := DeliveryRecord{Service: d.Service, Version: d.Version, Since: now}
		if d.Err != nil {
			r.Error = d.Err.Error()
		}
		if i := slices.IndexFunc(prev, func(p DeliveryRecord) bool { return p.Service == d.Service }); i >= 0 {
			if p := prev[i]; p.Version == r.Version && p.Error == r.Error {
				r.Since = p.Since
			}
		}
		byService[d.Service] = r
	}
	var out []DeliveryRecord
	for _, svc := range slices.Sorted(maps.Keys(byService)) {
		out = append(out, byService[svc])
	}
	return out
}
