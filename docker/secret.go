package docker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// ErrSecretInUse is wrapped by RemoveSecret's error when a service's spec
// or previous spec still refers to the secret. The secret is kept; remove
// it once no service needs it.
var ErrSecretInUse = errors.New("secret in use")

// ErrSecretExists is wrapped by CreateSecret's error when a secret of that
// name exists with other labels: someone else's secret, which is left
// alone.
var ErrSecretExists = errors.New("secret exists with other labels")

// Secret is a Swarm secret as Secrets lists it. Swarm never returns a
// secret's data.
type Secret struct {
	// ID is the secret's ID, Name its name.
	ID, Name string
	// Labels are the secret's labels.
	Labels map[string]string
	// CreatedAt is when the secret was created.
	CreatedAt time.Time
}

// CreateSecret creates a Swarm secret named name holding data, with
// labels, and returns its ID. Secrets are immutable, so a new version of
// the data needs a new name.
//
// When a secret of that name (Swarm ignores case in names) exists already
// with the same labels (nil and empty are the same), CreateSecret returns
// its ID: a caller that crashed
// between creating the secret and using it can simply create it again.
// Swarm does not return a secret's data, so the data is not compared: the
// labels are what tell whose secret it is. A secret of that name with other
// labels is left alone and gives an error naming it and wrapping
// ErrSecretExists. Swarm refuses empty data, data of 500 KB or more, and
// names other than letters, digits, '-', '_' and '.' (64 characters at
// most).
func (c *Client) CreateSecret(ctx context.Context, name string, data []byte, labels map[string]string) (id string, err error) {
	const op = "create secret"
	if err := checkName(op, "secret", name); err != nil {
		return "", err
	}
	res, err := c.api.SecretCreate(ctx, client.SecretCreateOptions{Spec: swarm.SecretSpec{
		Annotations: swarm.Annotations{Name: name, Labels: labels},
		Data:        data,
	}})
	if err == nil {
		c.log.Debug("secret created", "secret", name, "id", res.ID)
		return res.ID, nil
	}
	if !alreadyExists(err) {
		return "", opError(op, "secret", name, err)
	}
	existing, found, lerr := c.secretByName(ctx, name)
	switch {
	case lerr != nil:
		return "", fmt.Errorf("docker: %s: secret %s exists; looking it up: %w", op, name, lerr)
	case !found:
		// Removed since: the caller's next attempt creates it.
		return "", opError(op, "secret", name, err)
	case !maps.Equal(existing.Spec.Labels, labels):
		return "", fmt.Errorf("docker: %s: secret %s (ID %s) exists with labels %v, want %v; it is left alone: %w",
			op, name, existing.ID, existing.Spec.Labels, labels, ErrSecretExists)
	}
	c.log.Debug("secret exists with the same labels, using it", "secret", name, "id", existing.ID)
	return existing.ID, nil
}

// Secrets lists the Swarm secrets that carry a label labelKey, whatever
// its value, sorted by name. labelKey must not be empty: callers list only
// what they labelled.
func (c *Client) Secrets(ctx context.Context, labelKey string) ([]Secret, error) {
	if strings.TrimSpace(labelKey) == "" {
		return nil, errors.New("docker: list secrets: empty label key")
	}
	f := client.Filters{}
	f.Add("label", labelKey)
	res, err := c.api.SecretList(ctx, client.SecretListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker: list secrets with label %s: %w", labelKey, err)
	}
	var out []Secret
	for _, s := range res.Items {
		if _, ok := s.Spec.Labels[labelKey]; !ok {
			continue
		}
		out = append(out, Secret{ID: s.ID, Name: s.Spec.Name, Labels: s.Spec.Labels, CreatedAt: s.CreatedAt})
	}
	slices.SortFunc(out, func(a, b Secret) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// RemoveSecret removes the Swarm secret with ID id (a name is accepted
// too). A secret that does not exist is success: it is gone either way.
//
// A secret that a service's spec or previous spec refers to is kept, with
// an error naming the services and wrapping ErrSecretInUse. Swarm itself
// refuses only secrets the current specs refer to, but a service rolled
// back (by `docker service rollback` or an update's failure action) returns
// to its previous spec, and its tasks then fail without the secrets that
// spec names.
func (c *Client) RemoveSecret(ctx context.Context, id string) error {
	const op = "remove secret"
	if err := checkName(op, "secret", id); err != nil {
		return err
	}
	ins, err := c.api.SecretInspect(ctx, id, client.SecretInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		c.log.Debug("secret to remove is gone already", "secret", id)
		return nil
	}
	if err != nil {
		return opError(op, "secret", id, err)
	}
	sec := ins.Secret
	if sec.ID != id && !strings.EqualFold(sec.Spec.Name, id) {
		// The daemon also matches ID prefixes: not the secret asked for.
		c.log.Debug("secret to remove is gone already", "secret", id, "prefix_of", sec.ID)
		return nil
	}
	name := sec.Spec.Name
	uses, err := c.secretUses(ctx)
	if err != nil {
		return fmt.Errorf("docker: %s: secret %s: %w", op, name, err)
	}
	var users []string
	for _, u := range uses {
		if u.ref.SecretID == sec.ID {
			users = append(users, u.String())
		}
	}
	if len(users) > 0 {
		return fmt.Errorf("docker: %s: secret %s: referenced by %s: %w", op, name, strings.Join(slices.Compact(users), ", "), ErrSecretInUse)
	}
	_, err = c.api.SecretRemove(ctx, sec.ID, client.SecretRemoveOptions{})
	switch {
	case err == nil:
		c.log.Debug("secret removed", "secret", name, "id", sec.ID)
		return nil
	case cerrdefs.IsNotFound(err):
		return nil
	case secretInUse(err):
		// A service started using it since we looked.
		return fmt.Errorf("docker: %s: secret %s: %w: %w", op, name, ErrSecretInUse, err)
	}
	return opError(op, "secret", name, err)
}

// secretByName returns the secret named name, if there is one. Swarm
// compares names regardless of case.
func (c *Client) secretByName(ctx context.Context, name string) (swarm.Secret, bool, error) {
	f := client.Filters{}
	f.Add("name", name) // a prefix: the name itself is picked below
	res, err := c.api.SecretList(ctx, client.SecretListOptions{Filters: f})
	if err != nil {
		return swarm.Secret{}, false, err
	}
	for _, s := range res.Items {
		if strings.EqualFold(s.Spec.Name, name) {
			return s, true, nil
		}
	}
	return swarm.Secret{}, false, nil
}

// alreadyExists reports whether a create failed because the name is taken.
func alreadyExists(err error) bool {
	return cerrdefs.IsConflict(err) || strings.Contains(strings.ToLower(err.Error()), "already exists")
}

// secretInUse reports whether Swarm refused to remove a secret that a
// service refers to ("secret 'x' is in use by the following service: web").
func secretInUse(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "in use by")
}
