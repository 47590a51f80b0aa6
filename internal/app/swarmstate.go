package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/clusterstate"
	"github.com/certdock/certdock/controller"
)

// ErrLeaseLost ends the daemon when this certdock stops being the active
// one: Swarm restarts the task, which then follows the new holder.
var ErrLeaseLost = errors.New("lost the swarm lease: another certdock is now the active one")

// followPoll is how often a certdock that does not hold the lease copies
// the swarm's state into its directory.
const followPoll = 10 * time.Second

// pushPoll is how often the holder publishes what changed locally, besides
// at once after every issuance.
const pushPoll = 30 * time.Second

// swarmState is certdock's part in a swarm that keeps its state
// (CERTDOCK_STATE=swarm): a vault of configs and the lease.
type swarmState struct {
	vault   *clusterstate.Vault
	lease   *clusterstate.SwarmLease
	elector *clusterstate.Elector
	local   clusterstate.Local
	mem     *stateMemory
	log     *slog.Logger
	kick    chan struct{} // a version was saved or a lineage removed: push now
	snap    *clusterstate.Snapshot
}

// newSwarmState reads the state key and builds the vault and the elector
// over the Docker client. A missing or bad key is an error naming
// CERTDOCK_STATE_KEY_FILE: certdock does not start.
func newSwarmState(keyFile string, api any, local clusterstate.Local, mem *stateMemory, log *slog.Logger) (*swarmState, error) {
	key, err := clusterstate.LoadKey(keyFile)
	if err != nil {
		return nil, err
	}
	va, ok := api.(clusterstate.VaultAPI)
	if !ok {
		return nil, errors.New("CERTDOCK_STATE=swarm needs a connection to a swarm manager (DOCKER_HOST)")
	}
	host, _ := os.Hostname()
	id := host + "/" + strconv.Itoa(os.Getpid()) + "/" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	log.Info("state in the swarm: sealed with the key from CERTDOCK_STATE_KEY_FILE", "key", key.ID(), "id", id)
	lease := clusterstate.NewSwarmLease(va, "", 0)
	return &swarmState{
		vault:   clusterstate.NewVault(va, key, log),
		lease:   lease,
		elector: clusterstate.NewElector(lease, clusterstate.ElectorOptions{ID: id, Logger: log}),
		local:   local, mem: mem, log: log,
		kick: make(chan struct{}, 1),
	}, nil
}

// changed is told of every version saved and lineage removed.
func (s *swarmState) changed() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// lead runs the daemon's work (run) only while this certdock holds the
// lease: until then it follows the swarm's state; once it holds it, it
// pulls the newest state, publishes what only it has (a directory
// migrated into the swarm), and runs with a context that ends when the
// lease can no longer be renewed. It returns ErrLeaseLost then, or run's
// result when ctx ends.
func (s *swarmState) lead(ctx context.Context, run func(context.Context) error) error {
	// The key must open what the swarm holds before this certdock even
	// contends: one with a wrong key must not hold the lease and keep
	// the others from acting.
	if err := s.verify(ctx); err != nil {
		return err
	}
	go s.elector.Run(ctx)
	if err := s.follow(ctx); err != nil {
		return err
	}
	actCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.watchLease(actCtx, cancel)
	go s.publish(actCtx)
	err := run(actCtx)
	if ctx.Err() == nil {
		if _, ok := s.elector.Acting(); !ok {
			return ErrLeaseLost
		}
	}
	// A last publication of what this run did, while still holding.
	if _, ok := s.elector.Acting(); ok {
		pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.push(pctx)
		pcancel()
	}
	return err
}

// verify pulls the swarm's state until it succeeds (it fails, with an
// error naming CERTDOCK_STATE_KEY_FILE, while the key is wrong).
func (s *swarmState) verify(ctx context.Context) error {
	for {
		snap, err := s.vault.Snapshot(ctx)
		if err == nil {
			if _, err = s.vault.Pull(ctx, snap, s.local); err == nil {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Error("cannot read certdock's state from the swarm: not taking part until it can", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(followPoll):
		}
	}
}

// follow copies the swarm's state into the directory until this certdock
// holds the lease and has pulled successfully.
func (s *swarmState) follow(ctx context.Context) error {
	for {
		changed := s.elector.Changed()
		_, acting := s.elector.Acting()
		snap, err := s.vault.Snapshot(ctx)
		if err == nil {
			_, err = s.vault.Pull(ctx, snap, s.local)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("cannot read certdock's state from the swarm; not acting until it can", "err", err)
		case err == nil && acting:
			s.snap = snap
			st, err := s.local.LoadState()
			if err != nil {
				s.log.Warn("certdock's state file is unreadable after the swarm's copy was written: starting from empty state", "err", err)
			}
			s.mem.reload(st)
			if _, err := s.vault.Push(ctx, snap, s.local); err != nil {
				s.log.Error("publishing the local directory to the swarm failed; retried after every issuance", "err", err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-time.After(followPoll):
		}
	}
}

// watchLease cancels the run when the lease is lost or cannot be renewed
// in time.
func (s *swarmState) watchLease(ctx context.Context, cancel context.CancelFunc) {
	for {
		changed := s.elector.Changed()
		if _, ok := s.elector.Acting(); !ok {
			s.log.Error("stopping: this certdock no longer holds the swarm lease")
			cancel()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-time.After(time.Second):
		}
	}
}

// publish pushes after every saved version or removal, and every
// pushPoll.
func (s *swarmState) publish(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-time.After(pushPoll):
		}
		s.push(ctx)
	}
}

func (s *swarmState) push(ctx context.Context) {
	if _, ok := s.elector.Acting(); !ok {
		return
	}
	if _, err := s.vault.Push(ctx, s.snap, s.local); err != nil && ctx.Err() == nil {
		s.log.Error("publishing to the swarm failed; retried", "err", err)
	}
}

// publishingStore tells the swarm state of every version saved and every
// lineage removed, so the holder publishes them at once.
type publishingStore struct {
	controller.Store
	s *swarmState
}

// Save implements controller.Store.
func (p publishingStore) Save(name string, b cert.Bundle, meta cert.IssueMeta) (*cert.Lineage, error) {
	l, err := p.Store.Save(name, b, meta)
	if err == nil {
		p.s.changed()
	}
	return l, err
}

// Remove implements controller.Store.
func (p publishingStore) Remove(name string) error {
	err := p.Store.Remove(name)
	p.s.changed()
	return err
}

// Active reports whether this certdock acts: always with local state;
// with swarm state, while it holds the lease.
func (a *App) Active() bool {
	if a.swarm == nil {
		return true
	}
	_, ok := a.swarm.elector.Acting()
	return ok
}

// OneShot checks that a one-shot command (`run --once`, `renew`) may act
// here. With swarm state, only next to the active certdock: its daemon
// publishes what the command writes; anywhere else the command would issue
// certificates the swarm does not know of, under numbers the active one
// also uses.
func (a *App) OneShot(ctx context.Context) error {
	if a.swarm == nil {
		return nil
	}
	l, _, err := a.swarm.lease.ReadLease(ctx)
	if err != nil {
		return fmt.Errorf("CERTDOCK_STATE=swarm: %w", err)
	}
	host, _ := os.Hostname()
	return oneShotAllowed(l.Holder, host)
}

// oneShotAllowed decides OneShot from the lease's holder and this host's
// name (a holder ID starts with its host name and a slash).
func oneShotAllowed(holder, host string) error {
	switch {
	case holder == "":
		return errors.New("CERTDOCK_STATE=swarm: no certdock daemon holds the swarm lease; start `certdock run`, then run this command in its container")
	case !strings.HasPrefix(holder, host+"/"):
		return fmt.Errorf("CERTDOCK_STATE=swarm: the active certdock is %s; run this command in its container (docker exec), whose daemon publishes what it writes", holder)
	}
	return nil
}
