package clusterstate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/certdock/certdock/docker"
)

// LeaseConfigName is the name of the config whose labels hold the lease.
const LeaseConfigName = "certdock-lease"

// LabelState marks the configs certdock keeps its state in; its value
// says what the config holds ("lease", …).
const LabelState = "certdock.state"

// ConfigAPI is the part of the Docker client the swarm lease uses.
type ConfigAPI interface {
	CreateConfig(ctx context.Context, name string, data []byte, labels map[string]string) (docker.Config, error)
	Config(ctx context.Context, name string) (docker.Config, error)
	UpdateConfigLabels(ctx context.Context, id string, index uint64, labels map[string]string) error
}

var _ ConfigAPI = (*docker.Client)(nil)

// SwarmLease is a LeaseStore in the labels of one Swarm config
// (LeaseConfigName), written at its version index: Raft orders the
// writes, and a stale one is refused.
type SwarmLease struct {
	api  ConfigAPI
	name string
	ttl  time.Duration

	mu sync.Mutex
	id string // the config's ID, once known
}

// NewSwarmLease returns the lease kept in config name (LeaseConfigName
// when empty); a lease created here starts free with ttl.
func NewSwarmLease(api ConfigAPI, name string, ttl time.Duration) *SwarmLease {
	if name == "" {
		name = LeaseConfigName
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &SwarmLease{api: api, name: name, ttl: ttl}
}

var _ LeaseStore = (*SwarmLease)(nil)

// leaseData is the lease config's (immutable) data: what it is for.
const leaseData = "certdock's lease: the labels say which certdock is the active one\n"

// ReadLease implements LeaseStore.
func (s *SwarmLease) ReadLease(ctx context.Context) (Lease, uint64, error) {
	cfg, err := s.api.Config(ctx, s.name)
	if errors.Is(err, docker.ErrConfigNotFound) {
		labels := Lease{TTL: s.ttl}.Labels()
		labels[LabelState] = "lease"
		cfg, err = s.api.CreateConfig(ctx, s.name, []byte(leaseData), labels)
		if errors.Is(err, docker.ErrConfigExists) {
			// Created by another certdock at the same time, and
			// already taken: read that.
			cfg, err = s.api.Config(ctx, s.name)
		}
	}
	if err != nil {
		return Lease{}, 0, fmt.Errorf("swarm lease: %w", err)
	}
	l, err := ParseLease(cfg.Labels)
	if err != nil {
		return Lease{}, 0, fmt.Errorf("swarm lease (config %s): %w", s.name, err)
	}
	s.mu.Lock()
	s.id = cfg.ID
	s.mu.Unlock()
	return l, cfg.Index, nil
}

// WriteLease implements LeaseStore.
func (s *SwarmLease) WriteLease(ctx context.Context, l Lease, index uint64) error {
	s.mu.Lock()
	id := s.id
	s.mu.Unlock()
	if id == "" {
		return fmt.Errorf("swarm lease: written before it was read: %w", ErrStale)
	}
	labels := maps.Clone(l.Labels())
	labels[LabelState] = "lease"
	err := s.api.UpdateConfigLabels(ctx, id, index, labels)
	switch {
	case errors.Is(err, docker.ErrOutOfSequence), errors.Is(err, docker.ErrConfigNotFound):
		return fmt.Errorf("swarm lease: %w: %w", ErrStale, err)
	case err != nil:
		return fmt.Errorf("swarm lease: %w", err)
	}
	return nil
}
