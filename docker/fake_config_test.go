package docker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// fakeConfigs is the fake's Swarm configs: items with version indexes
// that every write raises, as the managers' store does.
type fakeConfigs struct {
	items []swarm.Config
	index uint64 // the store's last version index
	// beforeUpdate, when set, runs inside ConfigUpdate before the index
	// check: a concurrent writer.
	beforeUpdate func()
}

func (f *fakeEngine) nextIndex() swarm.Version {
	f.configs.index++
	return swarm.Version{Index: f.configs.index}
}

// ConfigCreate implements engine.
func (f *fakeEngine) ConfigCreate(ctx context.Context, opts client.ConfigCreateOptions) (client.ConfigCreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := opts.Spec.Name
	if err := f.record(ctx, "ConfigCreate", name); err != nil {
		return client.ConfigCreateResult{}, err
	}
	if slices.ContainsFunc(f.configs.items, func(c swarm.Config) bool { return strings.EqualFold(c.Spec.Name, name) }) {
		return client.ConfigCreateResult{}, fmt.Errorf("rpc error: code = AlreadyExists desc = config %s already exists: %w", name, cerrdefs.ErrConflict)
	}
	id := fmt.Sprintf("config%d", len(f.configs.items)+1)
	now := time.Now()
	f.configs.items = append(f.configs.items, swarm.Config{ID: id, Meta: swarm.Meta{Version: f.nextIndex(), CreatedAt: now, UpdatedAt: now}, Spec: opts.Spec})
	return client.ConfigCreateResult{ID: id}, nil
}

// ConfigList implements engine (label filters only).
func (f *fakeEngine) ConfigList(ctx context.Context, opts client.ConfigListOptions) (client.ConfigListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ConfigList", ""); err != nil {
		return client.ConfigListResult{}, err
	}
	var out []swarm.Config
	for _, c := range f.configs.items {
		ok := true
		for l := range opts.Filters["label"] {
			_, has := c.Spec.Labels[l]
			ok = ok && has
		}
		if ok {
			out = append(out, c)
		}
	}
	return client.ConfigListResult{Items: out}, nil
}

// ConfigInspect implements engine: by ID, name, then ID prefix.
func (f *fakeEngine) ConfigInspect(ctx context.Context, id string, _ client.ConfigInspectOptions) (client.ConfigInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ConfigInspect", id); err != nil {
		return client.ConfigInspectResult{}, err
	}
	if i := f.configAt(id); i >= 0 {
		return client.ConfigInspectResult{Config: f.configs.items[i]}, nil
	}
	return client.ConfigInspectResult{}, notFound("config", id)
}

func (f *fakeEngine) configAt(id string) int {
	for _, match := range []func(swarm.Config) bool{
		func(c swarm.Config) bool { return c.ID == id },
		func(c swarm.Config) bool { return strings.EqualFold(c.Spec.Name, id) },
		func(c swarm.Config) bool { return strings.HasPrefix(c.ID, id) },
	} {
		if i := slices.IndexFunc(f.configs.items, match); i >= 0 {
			return i
		}
	}
	return -1
}

// ConfigUpdate implements engine: labels only, at the current index.
func (f *fakeEngine) ConfigUpdate(ctx context.Context, id string, opts client.ConfigUpdateOptions) (client.ConfigUpdateResult, error) {
	f.mu.Lock()
	before := f.configs.beforeUpdate
	f.configs.beforeUpdate = nil
	f.mu.Unlock()
	if before != nil {
		before()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ConfigUpdate", id); err != nil {
		return client.ConfigUpdateResult{}, err
	}
	i := slices.IndexFunc(f.configs.items, func(c swarm.Config) bool { return c.ID == id })
	if i < 0 {
		return client.ConfigUpdateResult{}, notFound("config", id)
	}
	c := &f.configs.items[i]
	if opts.Version.Index != c.Version.Index {
		return client.ConfigUpdateResult{}, fmt.Errorf("rpc error: code = Unknown desc = update out of sequence")
	}
	if string(opts.Spec.Data) != string(c.Spec.Data) {
		return client.ConfigUpdateResult{}, fmt.Errorf("rpc error: code = InvalidArgument desc = only updates to Labels are allowed: %w", cerrdefs.ErrInvalidArgument)
	}
	c.Spec.Labels = opts.Spec.Labels
	c.Version = f.nextIndex()
	c.UpdatedAt = time.Now()
	return client.ConfigUpdateResult{}, nil
}

// ConfigRemove implements engine.
func (f *fakeEngine) ConfigRemove(ctx context.Context, id string, _ client.ConfigRemoveOptions) (client.ConfigRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ConfigRemove", id); err != nil {
		return client.ConfigRemoveResult{}, err
	}
	i := f.configAt(id)
	if i < 0 {
		return client.ConfigRemoveResult{}, notFound("config", id)
	}
	f.configs.items = slices.Delete(f.configs.items, i, i+1)
	return client.ConfigRemoveResult{}, nil
}
