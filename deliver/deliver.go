package deliver

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/secrets"
)

// Engine is what delivery needs from a Swarm manager; *docker.Client
// implements it.
type Engine interface {
	AllServiceSecrets(ctx context.Context) ([]docker.ServiceSecrets, error)
	ServiceSecrets(ctx context.Context, service string) (docker.ServiceSecrets, error)
	UpdateServiceSecrets(ctx context.Context, service string, version uint64, refs []docker.SecretRef) error
	Secrets(ctx context.Context, labelKey string) ([]docker.Secret, error)
	CreateSecret(ctx context.Context, name string, data []byte, labels map[string]string) (string, error)
	RemoveSecret(ctx context.Context, id string) error
}

var _ Engine = (*docker.Client)(nil)

// Files reads the files of a lineage's current version (store.Dir
// implements it): keyed by base name, returned only when cert.pem is
// certPEM and the four files belong together.
type Files interface {
	Files(name string, certPEM []byte) (map[string][]byte, error)
}

// Options tune a Deliverer.
type Options struct {
	// Parallel bounds the services updated at once (default 4): each
	// update replaces the service's tasks under its own update_config,
	// and certdock waits for it to converge.
	Parallel int
	// Backoff is the first wait before a failed service update is tried
	// again with the same references (default 1 minute); it doubles per
	// failure up to MaxBackoff (default 1 hour). A rolled-back update
	// would otherwise be sent again at every pass.
	Backoff, MaxBackoff time.Duration
	// Logger receives what Deliver does (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Deliverer implements controller.Deliverer with Swarm secrets.
type Deliverer struct {
	eng   Engine
	files Files
	opts  Options
	log   *slog.Logger

	// run serialises Deliver calls (the daemon's and a `renew` in the
	// same process), so Parallel bounds the updates in flight overall.
	run sync.Mutex

	mu     sync.Mutex
	failed map[string]failure // by service
}

// failure is a service update that failed: not sent again with the same
// references before next.
type failure struct {
	key   string // the references that failed
	count int
	next  time.Time
	err   error
}

// New returns a Deliverer working through eng, reading certificates'
// files from files.
func New(eng Engine, files Files, opts Options) *Deliverer {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Minute
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Deliverer{eng: eng, files: files, opts: opts, log: opts.Logger, failed: map[string]failure{}}
}

var _ controller.Deliverer = (*Deliverer)(nil)

// pass is what one Deliver call knows of the swarm.
type pass struct {
	services map[string]docker.ServiceSecrets // by name
	owned    map[string]docker.Secret         // certdock's secrets, by lower-case name

	mu    sync.Mutex
	files map[string]filesResult // by lineage and version
}

type filesResult struct {
	data map[string][]byte
	err  error
}

// Deliver implements controller.Deliverer: it updates every service whose
// spec does not hold the wanted versions (Parallel at a time, waiting for
// each update to converge), then removes certdock's secrets that no
// service's spec or previous spec refers to any more.
func (d *Deliverer) Deliver(ctx context.Context, wants []controller.Delivery) []controller.Delivered {
	d.run.Lock()
	defer d.run.Unlock()
	p, err := d.look(ctx)
	if err != nil {
		out := make([]controller.Delivered, 0, len(wants))
		for _, w := range wants {
			out = append(out, controller.Delivered{Name: w.Spec.Name, Service: w.To.Service, Err: err})
		}
		return out
	}
	byService := map[string][]controller.Delivery{}
	for _, w := range wants {
		byService[w.To.Service] = append(byService[w.To.Service], w)
	}
	services := slices.Sorted(maps.Keys(byService))
	results := make([][]controller.Delivered, len(services))
	changed := make([]bool, len(services))
	sem := make(chan struct{}, d.opts.Parallel)
	var wg sync.WaitGroup
	for i, svc := range services {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = failAll(byService[svc], 0, ctx.Err())
				return
			}
			defer func() { <-sem }()
			results[i], changed[i] = d.service(ctx, p, svc, byService[svc])
		})
	}
	wg.Wait()
	if ctx.Err() == nil {
		d.collect(ctx, p, wants, slices.Contains(changed, true))
	}
	return slices.Concat(results...)
}

// look lists the services and certdock's secrets.
func (d *Deliverer) look(ctx context.Context) (*pass, error) {
	svcs, err := d.eng.AllServiceSecrets(ctx)
	if err != nil {
		return nil, err
	}
	owned, err := d.eng.Secrets(ctx, secrets.LabelManaged)
	if err != nil {
		return nil, err
	}
	p := &pass{services: map[string]docker.ServiceSecrets{}, owned: map[string]docker.Secret{}, files: map[string]filesResult{}}
	for _, s := range svcs {
		p.services[s.Name] = s
	}
	for _, s := range owned {
		if secrets.Managed(s.Labels) {
			p.owned[strings.ToLower(s.Name)] = s
		}
	}
	return p, nil
}

// managed reports whether a secret of that name is certdock's.
func (p *pass) managed(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.owned[strings.ToLower(name)]
	return ok
}

// ownedSecret returns certdock's secret of that name.
func (p *pass) ownedSecret(name string) (docker.Secret, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.owned[strings.ToLower(name)]
	return s, ok
}

// created records a secret this pass created.
func (p *pass) created(s docker.Secret) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.owned[strings.ToLower(s.Name)] = s
}

// service brings one service to the wanted versions; changed reports
// whether it was updated.
func (d *Deliverer) service(ctx context.Context, p *pass, svc string, wants []controller.Delivery) (out []controller.Delivered, changed bool) {
	ss, ok := p.services[svc]
	if !ok {
		return failAll(wants, 0, fmt.Errorf("service %s not found", svc)), false
	}
	slices.SortFunc(wants, func(a, b controller.Delivery) int { return cmp.Compare(a.Spec.Name, b.Spec.Name) })
	var desired []secrets.Ref
	for _, w := range wants {
		desired = append(desired, secrets.Refs(w.Spec.Name, w.Lineage.Version, w.To)...)
	}
	key := refsKey(desired)
	for attempt := 0; ; attempt++ {
		update, next, err := secrets.Plan(fromDocker(ss.Secrets), desired, p.managed)
		if err != nil {
			return d.results(p, ss, wants, fmt.Errorf("service %s: %w", svc, err)), false
		}
		if !update {
			d.clearFailure(svc, key)
			var err error
			switch ss.UpdateState {
			case "paused", "rollback_paused":
				err = fmt.Errorf("service %s: update %s: %s", svc, ss.UpdateState, ss.UpdateMessage)
			}
			return d.results(p, ss, wants, err), false
		}
		if f, waiting := d.waiting(svc, key); waiting {
			// The same error as when it failed, so the failure reads as
			// one streak; the retry time is in the log.
			d.log.Debug("service update failed before; waiting to retry", "service", svc, "retry_at", f.next.UTC().Format(time.RFC3339))
			return d.results(p, ss, wants, f.err), false
		}
		if err := d.ensure(ctx, p, wants); err != nil {
			return d.results(p, ss, wants, fmt.Errorf("service %s: %w", svc, err)), false
		}
		d.log.Info("updating service secrets", "service", svc, "versions", versionsOf(wants))
		err = d.eng.UpdateServiceSecrets(ctx, svc, ss.Version, toDocker(next))
		switch {
		case err == nil:
			d.clearFailure(svc, key)
			return d.results(p, ss, wants, nil, desired...), true
		case errors.Is(err, docker.ErrOutOfSequence) && attempt < 3:
			// Someone else updated the service meanwhile: plan again
			// against what it holds now.
			if ss, err = d.eng.ServiceSecrets(ctx, svc); err != nil {
				return d.results(p, ss, wants, err), false
			}
			continue
		}
		if ctx.Err() == nil {
			d.recordFailure(svc, key, err)
		}
		// The update may have reached the spec (a rollback or pause after
		// it): report what the service holds now.
		if now, rerr := d.eng.ServiceSecrets(ctx, svc); rerr == nil {
			ss = now
		}
		return d.results(p, ss, wants, err), true
	}
}

// ensure creates the secrets of the wanted versions that do not exist yet.
func (d *Deliverer) ensure(ctx context.Context, p *pass, wants []controller.Delivery) error {
	for _, w := range wants {
		lin := w.Lineage
		fp := sha256.Sum256(lin.Leaf.Raw)
		labels := secrets.Labels(lin.Name, lin.Version, lin.NotAfter, hex.EncodeToString(fp[:]))
		var files map[string][]byte
		for _, f := range secrets.Files {
			name := secrets.Name(lin.Name, lin.Version, f)
			if s, ok := p.ownedSecret(name); ok {
				if err := secrets.Reusable(secrets.Secret{ID: s.ID, Name: s.Name, Labels: s.Labels}, labels); err != nil {
					return err
				}
				continue
			}
			if files == nil {
				var err error
				if files, err = p.read(d.files, lin.Name, lin.Version, lin.CertPEM); err != nil {
					return err
				}
			}
			id, err := d.eng.CreateSecret(ctx, name, files[f], labels)
			if err != nil {
				return err
			}
			p.created(docker.Secret{ID: id, Name: name, Labels: labels})
		}
	}
	return nil
}

// read returns a lineage version's files, read once per pass.
func (p *pass) read(files Files, name string, version int, certPEM []byte) (map[string][]byte, error) {
	k := name + "\x00" + strconv.Itoa(version)
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.files[k]
	if !ok {
		r.data, r.err = files.Files(name, certPEM)
		p.files[k] = r
	}
	return r.data, r.err
}

// results describes each want's state given the service's references
// (or, after a successful update, the desired references sent): the
// version of the lineage it holds, and err.
func (d *Deliverer) results(p *pass, ss docker.ServiceSecrets, wants []controller.Delivery, err error, sent ...secrets.Ref) []controller.Delivered {
	refs := fromDocker(ss.Secrets)
	if len(sent) > 0 {
		refs = sent
	}
	out := make([]controller.Delivered, 0, len(wants))
	for _, w := range wants {
		out = append(out, controller.Delivered{
			Name: w.Spec.Name, Service: w.To.Service, Err: err,
			Version: p.heldVersion(refs, w.Spec.Name),
		})
	}
	if err == nil {
		for i := range out {
			out[i].Version = wants[i].Lineage.Version
			out[i].Changed = len(sent) > 0
		}
	}
	return out
}

// heldVersion returns the version of lineage a service's references
// hold, by the labels of certdock's secrets (0: none). A service holding
// files of several versions (which certdock never writes) counts as
// holding the lowest.
func (p *pass) heldVersion(refs []secrets.Ref, lineage string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := 0
	for _, r := range refs {
		s, ok := p.owned[strings.ToLower(r.SecretName)]
		if !ok || s.Labels[secrets.LabelLineage] != lineage {
			continue
		}
		if n, err := strconv.Atoi(s.Labels[secrets.LabelVersion]); err == nil && (v == 0 || n < v) {
			v = n
		}
	}
	return v
}

// failAll gives every want the same error.
func failAll(wants []controller.Delivery, version int, err error) []controller.Delivered {
	out := make([]controller.Delivered, 0, len(wants))
	for _, w := range wants {
		out = append(out, controller.Delivered{Name: w.Spec.Name, Service: w.To.Service, Version: version, Err: err})
	}
	return out
}

// versionsOf describes the wanted versions for a log line.
func versionsOf(wants []controller.Delivery) string {
	parts := make([]string, 0, len(wants))
	for _, w := range wants {
		parts = append(parts, w.Spec.Name+" v"+strconv.Itoa(w.Lineage.Version))
	}
	return strings.Join(parts, ", ")
}

// refsKey identifies a list of references.
func refsKey(refs []secrets.Ref) string {
	parts := make([]string, 0, len(refs))
	for _, r := range refs {
		parts = append(parts, r.String())
	}
	slices.Sort(parts)
	return strings.Join(parts, "\n")
}

func fromDocker(refs []docker.SecretRef) []secrets.Ref {
	out := make([]secrets.Ref, 0, len(refs))
	for _, r := range refs {
		out = append(out, secrets.Ref{SecretName: r.SecretName, Target: r.File, UID: r.UID, GID: r.GID, Mode: r.Mode})
	}
	return out
}

func toDocker(refs []secrets.Ref) []docker.SecretRef {
	out := make([]docker.SecretRef, 0, len(refs))
	for _, r := range refs {
		out = append(out, docker.SecretRef{SecretName: r.SecretName, File: r.Target, UID: r.UID, GID: r.GID, Mode: r.Mode})
	}
	return out
}
