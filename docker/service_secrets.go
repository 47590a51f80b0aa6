package docker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// ErrOutOfSequence is wrapped by UpdateServiceSecrets' error when the
// service changed since the version the caller read: re-read it with
// ServiceSecrets, plan again and retry.
var ErrOutOfSequence = errors.New("service changed since it was read (update out of sequence)")

// secretsConvergeTimeout bounds UpdateServiceSecrets, like a force-update's
// (Swarm's default update monitor alone takes 5 s per batch).
const secretsConvergeTimeout = 5 * time.Minute

// SecretRef is a reference from a service's spec to a secret, mounted as a
// file in the service's containers.
type SecretRef struct {
	// SecretName is the secret's name, SecretID its ID.
	SecretName, SecretID string
	// File is the file's path in the container: relative to /run/secrets
	// ("example.com/fullchain.pem"), or absolute.
	File string
	// UID and GID own the file (the docker CLI's default is "0").
	UID, GID string
	// Mode is the file's mode (the docker CLI's default is 0444).
	Mode os.FileMode
}

// ServiceSecrets is what a Swarm service's specs say about secrets.
type ServiceSecrets struct {
	// ID is the service's ID, Name its name.
	ID, Name string
	// Version is the index of the service's version: UpdateServiceSecrets
	// takes it back, and Swarm refuses the update if the service has
	// changed since.
	Version uint64
	// Labels are the service's labels (its spec's, i.e. deploy.labels).
	Labels map[string]string
	// Secrets are the references of the current spec, in its order.
	Secrets []SecretRef
	// PreviousSecrets are those of the previous spec, the one a rollback
	// returns to; nil when the service has no previous spec (it was never
	// updated).
	PreviousSecrets []SecretRef
	// UpdateState and UpdateMessage are Swarm's status of the service's
	// last update ("completed", "paused", "rollback_completed", …);
	// empty when the service was never updated.
	UpdateState, UpdateMessage string
}

// serviceSecrets describes svc's specs' secrets.
func serviceSecrets(svc swarm.Service) ServiceSecrets {
	out := ServiceSecrets{
		ID:      svc.ID,
		Name:    svc.Spec.Name,
		Version: svc.Version.Index,
		Labels:  svc.Spec.Labels,
		Secrets: refsOf(&svc.Spec),
	}
	if svc.PreviousSpec != nil {
		out.PreviousSecrets = refsOf(svc.PreviousSpec)
		if out.PreviousSecrets == nil {
			out.PreviousSecrets = []SecretRef{}
		}
	}
	if st := svc.UpdateStatus; st != nil {
		out.UpdateState, out.UpdateMessage = string(st.State), st.Message
	}
	return out
}

// AllServiceSecrets returns what every Swarm service's specs say about
// secrets, sorted by service name: one listing, for a pass that checks
// many services.
func (c *Client) AllServiceSecrets(ctx context.Context) ([]ServiceSecrets, error) {
	res, err := c.api.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker: list services: %w", err)
	}
	out := make([]ServiceSecrets, 0, len(res.Items))
	for _, s := range res.Items {
		out = append(out, serviceSecrets(s))
	}
	slices.SortFunc(out, func(a, b ServiceSecrets) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// ServiceSecrets returns the secret references of a service (name or ID),
// of its current and previous spec, with its version and labels. A missing
// service gives an error wrapping ErrNotFound.
func (c *Client) ServiceSecrets(ctx context.Context, service string) (ServiceSecrets, error) {
	const op = "read service secrets"
	if err := checkName(op, "service", service); err != nil {
		return ServiceSecrets{}, err
	}
	ins, err := c.api.ServiceInspect(ctx, service, client.ServiceInspectOptions{})
	if err != nil {
		return ServiceSecrets{}, opError(op, "service", service, err)
	}
	return serviceSecrets(ins.Service), nil
}

// UpdateServiceSecrets replaces the whole secret list of a service (name
// or ID) with refs, in that order, and waits until the update converges.
//
// version is the service version the caller read (ServiceSecrets): when
// the service has changed since, nothing is sent and the error wraps
// ErrOutOfSequence, and so does Swarm's refusal when another writer gets
// there between our inspection and our update. Nothing else of the spec
// changes: it is sent back as inspected, with the registry credentials of
// the spec and the image not re-resolved, as ForceUpdate does. Each ref
// names its secret by SecretName; the secret's ID and name as Swarm spells
// it (Swarm ignores case in names) are looked up (a SecretID given is
// ignored), and a secret that does not exist is an error before anything
// is sent. File, UID, GID and Mode are sent as given. Swarm makes
// the spec it replaces the service's previous spec, even when refs are the
// current references.
//
// It then waits, at most 5 minutes (ctx may end it sooner), as ForceUpdate
// does: until Swarm reports the update completed or, without a status of
// this update, until every task Swarm wants running has the new references
// and runs. A paused or rolled-back update is an error with Swarm's
// message, and so is the timeout. A missing service gives an error
// wrapping ErrNotFound.
func (c *Client) UpdateServiceSecrets(ctx context.Context, service string, version uint64, refs []SecretRef) error {
	const op = "update service secrets"
	if err := checkName(op, "service", service); err != nil {
		return err
	}
	for i, r := range refs {
		if strings.TrimSpace(r.SecretName) == "" || strings.TrimSpace(r.File) == "" {
			return fmt.Errorf("docker: %s: service %s: reference %d has no secret name or no file: %+v", op, service, i, r)
		}
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, secretsConvergeTimeout)
	defer cancel()

	ins, err := c.api.ServiceInspect(ctx, service, client.ServiceInspectOptions{})
	if err != nil {
		return opError(op, "service", service, err)
	}
	svc := ins.Service
	if svc.Version.Index != version {
		return fmt.Errorf("docker: %s: service %s is at version %d, not %d: %w", op, service, svc.Version.Index, version, ErrOutOfSequence)
	}
	if svc.Spec.TaskTemplate.ContainerSpec == nil {
		return fmt.Errorf("docker: %s: service %s runs no containers (plugin service)", op, service)
	}
	sent, err := c.resolveRefs(ctx, refs)
	if err != nil {
		return fmt.Errorf("docker: %s: service %s: %w", op, service, err)
	}
	spec := svc.Spec
	cs := *spec.TaskTemplate.ContainerSpec
	cs.Secrets = sent
	spec.TaskTemplate.ContainerSpec = &cs
	res, err := c.api.ServiceUpdate(ctx, svc.ID, client.ServiceUpdateOptions{
		Version:          svc.Version,
		Spec:             spec,
		RegistryAuthFrom: swarm.RegistryAuthFromSpec,
	})
	if err != nil {
		if outOfSequence(err) {
			return fmt.Errorf("docker: %s: service %s: %w: %w", op, service, ErrOutOfSequence, err)
		}
		return opError(op, "service", service, err)
	}
	for _, w := range res.Warnings {
		c.log.Debug("service update warning", "service", service, "warning", w)
	}
	c.log.Debug("service secrets update started", "service", service, "secrets", len(sent))
	want := refsKey(sent)
	return c.waitConverged(ctx, sentUpdate{
		op:      op,
		service: service,
		svc:     svc,
		before:  svc.UpdateStatus,
		isNew: func(t swarm.TaskSpec) bool {
			return t.ContainerSpec != nil && refsKey(t.ContainerSpec.Secrets) == want
		},
		start: start,
	})
}

// AllServiceSecretRefs returns the names of the secrets that the spec or
// the previous spec of any Swarm service refers to: those a garbage
// collector must keep.
func (c *Client) AllServiceSecretRefs(ctx context.Context) (map[string]bool, error) {
	uses, err := c.secretUses(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker: service secret references: %w", err)
	}
	out := make(map[string]bool, len(uses))
	for _, u := range uses {
		out[u.ref.SecretName] = true
	}
	return out, nil
}

// resolveRefs turns refs into the spec's references, with the IDs of the
// secrets they name.
func (c *Client) resolveRefs(ctx context.Context, refs []SecretRef) ([]*swarm.SecretReference, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	f := client.Filters{}
	for _, r := range refs {
		f.Add("name", r.SecretName) // prefixes: the names are picked below
	}
	res, err := c.api.SecretList(ctx, client.SecretListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("look up secrets: %w", err)
	}
	// Swarm compares names regardless of case.
	byName := make(map[string]swarm.Secret, len(res.Items))
	for _, s := range res.Items {
		byName[strings.ToLower(s.Spec.Name)] = s
	}
	out := make([]*swarm.SecretReference, 0, len(refs))
	for _, r := range refs {
		s, ok := byName[strings.ToLower(r.SecretName)]
		if !ok {
			return nil, fmt.Errorf("secret %s does not exist", r.SecretName)
		}
		out = append(out, &swarm.SecretReference{
			SecretName: s.Spec.Name,
			SecretID:   s.ID,
			File:       &swarm.SecretReferenceFileTarget{Name: r.File, UID: r.UID, GID: r.GID, Mode: r.Mode},
		})
	}
	return out, nil
}

// refsOf returns the secret references of spec.
func refsOf(spec *swarm.ServiceSpec) []SecretRef {
	cs := spec.TaskTemplate.ContainerSpec
	if cs == nil {
		return nil
	}
	var out []SecretRef
	for _, r := range cs.Secrets {
		if r == nil {
			continue
		}
		ref := SecretRef{SecretName: r.SecretName, SecretID: r.SecretID}
		if f := r.File; f != nil {
			ref.File, ref.UID, ref.GID, ref.Mode = f.Name, f.UID, f.GID, f.Mode
		}
		out = append(out, ref)
	}
	return out
}

// refsKey describes a list of secret references independently of their
// order, to tell a task with the sent references from an older one.
func refsKey(refs []*swarm.SecretReference) string {
	keys := make([]string, 0, len(refs))
	for _, r := range refs {
		if r == nil {
			continue
		}
		k := r.SecretID + "\x00" + r.SecretName
		if f := r.File; f != nil {
			k += fmt.Sprintf("\x00%s\x00%s\x00%s\x00%o", f.Name, f.UID, f.GID, f.Mode)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, "\x01")
}

// secretUse is a reference from one service spec to a secret.
type secretUse struct {
	service  string
	previous bool
	ref      *swarm.SecretReference
}

// String describes the use for an error: "service web (previous spec)".
func (u secretUse) String() string {
	if u.previous {
		return "service " + u.service + " (previous spec)"
	}
	return "service " + u.service
}

// secretUses lists every secret reference of every service's spec and
// previous spec, current specs first, then by service name.
func (c *Client) secretUses(ctx context.Context) ([]secretUse, error) {
	res, err := c.api.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	var out []secretUse
	add := func(name string, spec *swarm.ServiceSpec, previous bool) {
		if spec == nil || spec.TaskTemplate.ContainerSpec == nil {
			return
		}
		for _, r := range spec.TaskTemplate.ContainerSpec.Secrets {
			if r != nil {
				out = append(out, secretUse{service: name, previous: previous, ref: r})
			}
		}
	}
	for _, s := range res.Items {
		add(s.Spec.Name, &s.Spec, false)
		add(s.Spec.Name, s.PreviousSpec, true)
	}
	slices.SortStableFunc(out, func(a, b secretUse) int {
		if a.previous != b.previous {
			if a.previous {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.service, b.service)
	})
	return out, nil
}
