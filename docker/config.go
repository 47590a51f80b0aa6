package docker

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// ErrConfigExists is wrapped by CreateConfig's error when a config of that
// name exists with other data or labels.
var ErrConfigExists = errors.New("config exists with other content")

// ErrConfigNotFound is wrapped by Config's and UpdateConfigLabels' errors
// when no config has that name or ID.
var ErrConfigNotFound = errors.New("config not found")

// Config is a Swarm config. Unlike a secret's, its data can be read back;
// data is immutable, labels are not, and every update carries Index (the
// object's version), which Swarm checks: a compare-and-swap on the
// managers' Raft store.
type Config struct {
	// ID is the config's ID, Name its name.
	ID, Name string
	// Labels are the config's labels.
	Labels map[string]string
	// Data is the config's content.
	Data []byte
	// Index is the object's version index; every write changes it.
	Index uint64
	// CreatedAt and UpdatedAt are the manager's timestamps.
	CreatedAt, UpdatedAt time.Time
}

func fromSwarmConfig(c swarm.Config) Config {
	return Config{ID: c.ID, Name: c.Spec.Name, Labels: c.Spec.Labels, Data: c.Spec.Data,
		Index: c.Version.Index, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// CreateConfig creates a Swarm config named name holding data, with
// labels. When a config of that name exists already with the same data and
// labels, it is returned: a caller that crashed after creating it can
// create it again. One with other data or labels gives an error wrapping
// ErrConfigExists. Swarm refuses empty names, data of 1000 KB or more and
// names other than letters, digits, '-', '_' and '.' (64 characters).
func (c *Client) CreateConfig(ctx context.Context, name string, data []byte, labels map[string]string) (Config, error) {
	const op = "create config"
	if err := checkName(op, "config", name); err != nil {
		return Config{}, err
	}
	_, err := c.api.ConfigCreate(ctx, client.ConfigCreateOptions{Spec: swarm.ConfigSpec{
		Annotations: swarm.Annotations{Name: name, Labels: labels},
		Data:        data,
	}})
	if err != nil && !alreadyExists(err) {
		return Config{}, opError(op, "config", name, err)
	}
	got, gerr := c.Config(ctx, name)
	if gerr != nil {
		return Config{}, fmt.Errorf("docker: %s: %s: reading it back: %w", op, name, gerr)
	}
	if err != nil && (!bytes.Equal(got.Data, data) || !equalLabels(got.Labels, labels)) {
		return Config{}, fmt.Errorf("docker: %s: config %s (ID %s) exists with other data or labels: %w", op, name, got.ID, ErrConfigExists)
	}
	if err == nil {
		c.log.Debug("config created", "config", name, "id", got.ID, "bytes", len(data))
	}
	return got, nil
}

// Config returns the config with this name (or ID); an error wrapping
// ErrConfigNotFound when there is none.
func (c *Client) Config(ctx context.Context, name string) (Config, error) {
	const op = "inspect config"
	if err := checkName(op, "config", name); err != nil {
		return Config{}, err
	}
	res, err := c.api.ConfigInspect(ctx, name, client.ConfigInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return Config{}, fmt.Errorf("docker: %s: %s: %w", op, name, ErrConfigNotFound)
	}
	if err != nil {
		return Config{}, opError(op, "config", name, err)
	}
	cfg := res.Config
	if cfg.ID != name && !strings.EqualFold(cfg.Spec.Name, name) {
		// The daemon also matches ID prefixes: not the config asked for.
		return Config{}, fmt.Errorf("docker: %s: %s: %w", op, name, ErrConfigNotFound)
	}
	return fromSwarmConfig(cfg), nil
}

// Configs lists the configs that carry the label labelKey (any value),
// data included, sorted by name. labelKey must not be empty.
func (c *Client) Configs(ctx context.Context, labelKey string) ([]Config, error) {
	if strings.TrimSpace(labelKey) == "" {
		return nil, errors.New("docker: list configs: empty label key")
	}
	f := client.Filters{}
	f.Add("label", labelKey)
	res, err := c.api.ConfigList(ctx, client.ConfigListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker: list configs with label %s: %w", labelKey, err)
	}
	var out []Config
	for _, cfg := range res.Items {
		if _, ok := cfg.Spec.Labels[labelKey]; ok {
			out = append(out, fromSwarmConfig(cfg))
		}
	}
	slices.SortFunc(out, func(a, b Config) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}

// UpdateConfigLabels replaces the labels of the config with ID id, if it
// is still at version index; its data is kept (Swarm refuses to change
// it). A config that changed since is refused with an error wrapping
// ErrOutOfSequence; read it again and decide again.
func (c *Client) UpdateConfigLabels(ctx context.Context, id string, index uint64, labels map[string]string) error {
	const op = "update config"
	cfg, err := c.Config(ctx, id)
	if err != nil {
		return err
	}
	if cfg.Index != index {
		return fmt.Errorf("docker: %s: config %s is at version %d, not %d: %w", op, cfg.Name, cfg.Index, index, ErrOutOfSequence)
	}
	_, err = c.api.ConfigUpdate(ctx, cfg.ID, client.ConfigUpdateOptions{
		Version: swarm.Version{Index: index},
		Spec:    swarm.ConfigSpec{Annotations: swarm.Annotations{Name: cfg.Name, Labels: labels}, Data: cfg.Data},
	})
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("docker: %s: %s: %w", op, cfg.Name, ErrConfigNotFound)
	case strings.Contains(err.Error(), "out of sequence"):
		return fmt.Errorf("docker: %s: config %s: %w: %w", op, cfg.Name, ErrOutOfSequence, err)
	}
	return opError(op, "config", cfg.Name, err)
}

// RemoveConfig removes the config with this ID (or name); one that does
// not exist is success.
func (c *Client) RemoveConfig(ctx context.Context, id string) error {
	const op = "remove config"
	if err := checkName(op, "config", id); err != nil {
		return err
	}
	_, err := c.api.ConfigRemove(ctx, id, client.ConfigRemoveOptions{})
	if err == nil || cerrdefs.IsNotFound(err) {
		return nil
	}
	return opError(op, "config", id, err)
}

// equalLabels compares labels, nil and empty being the same.
func equalLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
