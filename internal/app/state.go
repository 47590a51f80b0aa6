package app

import (
	"log/slog"
	"maps"
	"slices"
	"sync"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/store"
)

// stateMemory keeps the controller's Records in the store's state file
// (CERTDOCK_DIR/certdock/state.json), saved after every change, so
// backoff and ownership survive restarts.
type stateMemory struct {
	store interface{ SaveState(*store.State) error }
	log   *slog.Logger
	check func(name string, err error) // health: the store check

	mu       sync.Mutex
	state    *store.State
	records  map[string]controller.Record // Get's results, shared read-only
	deferred int                          // open Defer calls: saving waits for the last
	dirty    bool                         // changed while deferred
}

var _ controller.Memory = (*stateMemory)(nil)

// Defer implements controller.Memory: until the returned function runs,
// changes are kept in memory and then saved once (a pass that touches
// every certificate rewrites state.json once, not once per certificate).
func (m *stateMemory) Defer() func() {
	m.mu.Lock()
	m.deferred++
	m.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.deferred--
			if m.deferred == 0 && m.dirty {
				m.saveLocked()
			}
		})
	}
}

func newStateMemory(st *store.Dir, log *slog.Logger) *stateMemory {
	s, err := st.LoadState()
	if err != nil {
		log.Warn("certdock's state file is unreadable: starting from empty state (backoff and ownership forgotten)", "err", err)
	}
	if s == nil {
		s = store.NewState()
	}
	return &stateMemory{store: st, log: log, state: s}
}

// Get implements controller.Memory.
func (m *stateMemory) Get(name string) (controller.Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.records[name]; ok {
		return r, true
	}
	ls, ok := m.state.Lineages[name]
	if !ok || ls == nil {
		return controller.Record{}, false
	}
	r := controller.Record{
		Owned: ls.Owned, Origin: cert.SourceKind(ls.Origin), LastWanted: ls.LastWanted,
		Source: ls.Source, Targets: slices.Clone(ls.Targets),
		Failures: ls.Failures, NextAttempt: ls.NextAttempt, LastError: ls.LastError, Notified: ls.Notified,
		NeedsConfig: ls.NeedsConfig, FailedSpec: ls.FailedSpec, FailedConfig: ls.FailedConfig,
		WaitingRecords: slices.Clone(ls.WaitingRecords),
	}
	if a := ls.ARI; a != nil {
		r.ARI = &controller.ARIRecord{Serial: a.Serial, Start: a.Start, End: a.End, Fetched: a.Fetched, NextFetch: a.NextFetch, Err: a.Err}
	}
	for _, d := range ls.Deliveries {
		r.Deliveries = append(r.Deliveries, controller.DeliveryRecord{Service: d.Service, Version: d.Version, Error: d.Error, Since: d.Since})
	}
	if m.records == nil {
		m.records = map[string]controller.Record{}
	}
	m.records[name] = r
	return r, true
}

// Put implements controller.Memory.
func (m *stateMemory) Put(name string, r controller.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ls := &store.LineageState{
		Owned: r.Owned, Origin: string(r.Origin), LastWanted: r.LastWanted,
		Source: r.Source, Targets: slices.Clone(r.Targets),
		Failures: r.Failures, NextAttempt: r.NextAttempt, LastError: r.LastError, Notified: r.Notified,
		NeedsConfig: r.NeedsConfig, FailedSpec: r.FailedSpec, FailedConfig: r.FailedConfig,
		WaitingRecords: slices.Clone(r.WaitingRecords),
	}
	if a := r.ARI; a != nil {
		ls.ARI = &store.ARIState{Serial: a.Serial, Start: a.Start, End: a.End, Fetched: a.Fetched, NextFetch: a.NextFetch, Err: a.Err}
	}
	for _, d := range r.Deliveries {
		ls.Deliveries = append(ls.Deliveries, store.DeliveryState{Service: d.Service, Version: d.Version, Error: d.Error, Since: d.Since})
	}
	m.state.Lineages[name] = ls
	if m.records == nil {
		m.records = map[string]controller.Record{}
	}
	m.records[name] = r.Clone()
	m.saveLocked()
}

// Delete implements controller.Memory.
func (m *stateMemory) Delete(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.state.Lineages, name)
	delete(m.records, name)
	m.saveLocked()
}

// Names implements controller.Memory.
func (m *stateMemory) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Collect(maps.Keys(m.state.Lineages))
}

func (m *stateMemory) saveLocked() {
	if m.deferred > 0 {
		m.dirty = true
		return
	}
	m.dirty = false
	err := m.store.SaveState(m.state)
	if err != nil {
		m.log.Error("cannot save certdock's state file", "err", err)
	}
	if m.check != nil {
		m.check("store", err)
	}
}

// reload replaces what memory holds with s (read again from the state
// file after the swarm's copy was written there, before the controller
// starts); nil means empty state.
func (m *stateMemory) reload(s *store.State) {
	if s == nil {
		s = store.NewState()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state, m.records, m.dirty = s, nil, false
}
