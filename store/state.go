package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/certdock/certdock/cert"
)

// ErrStateCorrupt is wrapped by LoadState when certdock's state file
// exists but cannot be used: it does not parse, was written by a newer
// certdock, or cannot be read at all.
var ErrStateCorrupt = errors.New("state file corrupt or unreadable")

// The state file, relative to the root, and its permissions: it is
// certdock's own bookkeeping, readable by nobody else.
const (
	stateDir      = "certdock"
	stateBase     = "state.json"
	stateDirMode  = fs.FileMode(0o700)
	stateFileMode = fs.FileMode(0o600)
	// stateVersion is the format written; LoadState refuses newer ones.
	// Optional fields that older certdocks may ignore (such as "ari")
	// are added without changing it: an older certdock reads the file,
	// drops what it does not know and saves without it.
	stateVersion = 1
)

// statePath and corruptStatePath are relative to the root.
var (
	statePath        = path.Join(stateDir, stateBase)
	corruptStatePath = statePath + ".corrupt"
)

// LineageState is what certdock remembers of one lineage between runs.
type LineageState struct {
	// Owned says certdock issued or adopted the lineage, so the removal
	// rules apply to it. A lineage certdock does not own is never
	// revoked or deleted.
	Owned bool `json:"owned"`
	// Origin is the kind of source that wanted the lineage last: "file"
	// (domains.conf) or "label".
	Origin string `json:"origin"`
	// LastWanted is the last pass in which a source wanted the lineage.
	LastWanted time.Time `json:"last_wanted"`
	// Source and Targets say what wanted the lineage last ("domains.conf:3",
	// "workload web") and the actions its renewal triggers, for status.
	Source  string   `json:"source,omitempty"`
	Targets []string `json:"targets,omitempty"`
	// Failures counts the consecutive failed attempts of the current
	// failure streak; zero after a success.
	Failures int `json:"failures,omitempty"`
	// NextAttempt is when the next attempt may run; zero means at once.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// LastError is the message of the last failure of the streak.
	LastError string `json:"last_error,omitempty"`
	// NeedsConfig says the last failure was a configuration error
	// (retried when the configuration changes, else on a slow schedule).
	NeedsConfig bool `json:"needs_config,omitempty"`
	// FailedSpec and FailedConfig fingerprint the certificate's spec and
	// the configuration at the last failure (a change retries at once).
	FailedSpec   string `json:"failed_spec,omitempty"`
	FailedConfig string `json:"failed_config,omitempty"`
	// Notified says the failure notification was sent for the current
	// streak.
	Notified bool `json:"notified,omitempty"`
	// WaitingRecords, when not empty, says the failure streak is a wait
	// for DNS records the user creates once (dns-persist-01): the records
	// to create, in zone-file syntax.
	WaitingRecords []string `json:"waiting_records,omitempty"`
	// ARI is the CA's last renewal information answer for the lineage's
	// certificate, so that a new process need not ask again while it is
	// fresh; nil when the CA was never asked.
	ARI *ARIState `json:"ari,omitempty"`
	// Deliveries are the states of the certificate's deliveries as Swarm
	// secrets, one per service.
	Deliveries []DeliveryState `json:"deliveries,omitempty"`
}

// DeliveryState is the state of one delivery of a certificate to a Swarm
// service.
type DeliveryState struct {
	// Service is the service's name.
	Service string `json:"service"`
	// Version is the version the service holds; 0 when none of certdock's.
	Version int `json:"version,omitempty"`
	// Error says why it does not hold the current version; empty when it
	// does.
	Error string `json:"error,omitempty"`
	// Since is when the delivery entered this state.
	Since time.Time `json:"since,omitzero"`
}

// ARIState is the CA's last answer to an ACME Renewal Information lookup
// (RFC 9773) for one certificate.
type ARIState struct {
	// Serial is the serial number of the certificate the answer is for,
	// in decimal as big.Int's String writes it (as does the Serial of
	// the cert.Version that Versions returns). An answer for another
	// serial is stale.
	Serial string `json:"serial"`
	// Start and End bound the CA's suggested renewal window; both are zero
	// when the CA offered none. After a failed lookup (Err set) they may
	// still hold the window of an earlier answer for the same Serial.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// Fetched is when the CA was asked.
	Fetched time.Time `json:"fetched"`
	// NextFetch is when to ask again: after the CA's Retry-After, or the
	// retry time after a failed lookup. Zero means at once.
	NextFetch time.Time `json:"next_fetch,omitzero"`
	// Err is the message of the last lookup's error; empty when the
	// lookup succeeded.
	Err string `json:"error,omitempty"`
}

// State is certdock's own state, kept in certdock/state.json under the
// store's root: which lineages it owns, who wanted them, their failure
// streaks and the CA's last renewal windows. Its map is keyed by lineage
// name.
type State struct {
	Lineages map[string]*LineageState `json:"lineages"`
}

// NewState returns an empty state.
func NewState() *State {
	return &State{Lineages: map[string]*LineageState{}}
}

// Lineage returns the entry of name, adding an empty one when there is
// none.
func (s *State) Lineage(name string) *LineageState {
	if s.Lineages == nil {
		s.Lineages = map[string]*LineageState{}
	}
	ls := s.Lineages[name]
	if ls == nil {
		ls = &LineageState{}
		s.Lineages[name] = ls
	}
	return ls
}

// stateFile is the JSON document on disk.
type stateFile struct {
	Version  int                      `json:"version"`
	Lineages map[string]*LineageState `json:"lineages"`
}

// LoadState reads certdock's state file. A missing file (or store) is an
// empty state and no error.
//
// A file that cannot be read or used gives an error wrapping
// ErrStateCorrupt together with an empty, usable state, so the caller can
// log the error and carry on from scratch rather than stop. A file that
// does not parse (or was written by a newer certdock) is first moved aside
// to certdock/state.json.corrupt, replacing an older one there, so that
// the next SaveState does not destroy what an operator may want to
// inspect. Entries whose name is not a valid lineage name, and null
// entries, are dropped.
func (d *Dir) LoadState() (*State, error) {
	d.stateMu.Lock()
	defer d.stateMu.Unlock()
	s := NewState()
	corrupt := func(err error) error {
		return fmt.Errorf("store: load state %s: %w: %w", d.abs(statePath), ErrStateCorrupt, err)
	}
	r, err := os.OpenRoot(d.root)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, corrupt(err)
	}
	defer r.Close()
	data, err := r.ReadFile(statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, corrupt(err)
	}

	var f stateFile
	err = json.Unmarshal(data, &f)
	if err == nil && f.Version > stateVersion {
		err = fmt.Errorf("format %d was written by a newer certdock (this one reads up to %d)", f.Version, stateVersion)
	}
	if err != nil {
		if merr := moveAside(r); merr != nil {
			return s, corrupt(fmt.Errorf("%v; keeping a copy failed: %v", err, merr))
		}
		return s, corrupt(fmt.Errorf("%v; moved to %s", err, d.abs(corruptStatePath)))
	}
	for name, ls := range f.Lineages {
		if ls != nil && cert.ValidName(name) == nil {
			s.Lineages[name] = ls
		}
	}
	return s, nil
}

// moveAside renames an unusable state file to corruptStatePath.
func moveAside(r *os.Root) error {
	if err := r.Rename(statePath, corruptStatePath); err != nil {
		return err
	}
	return syncDir(r, stateDir)
}

// SaveState writes s to certdock/state.json atomically: a temporary file
// in the same directory, fsynced, renamed over the old file, and the
// directory fsynced. The directory is created with mode 0700 and the file
// written with 0600, whatever the Dir's modes and owner: the state is
// certdock's alone. Nothing is written when the file already holds the
// same content. Leftover temporary files of an interrupted save are
// removed.
//
// SaveState may be called from several goroutines: saves are serialised,
// and the file always holds one complete state. The caller must not
// modify s while SaveState runs.
func (d *Dir) SaveState(s *State) error {
	if s == nil {
		return errors.New("store: save state: nil state")
	}
	f := stateFile{Version: stateVersion, Lineages: s.Lineages}
	if f.Lineages == nil {
		f.Lineages = map[string]*LineageState{}
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("store: save state: %w", err)
	}
	data = append(data, '\n')

	d.stateMu.Lock()
	defer d.stateMu.Unlock()
	if err := d.saveState(data); err != nil {
		return fmt.Errorf("store: save state %s: %w", d.abs(statePath), err)
	}
	return nil
}

func (d *Dir) saveState(data []byte) error {
	r, err := d.openRootCreate()
	if err != nil {
		return err
	}
	defer r.Close()
	if err := ensureDirAs(r, stateDir, stateDirMode, keepOwner); err != nil {
		return err
	}
	if err := removeTemps(r, stateDir, "."+stateBase+".tmp-"); err != nil {
		return err
	}
	if fi, err := r.Lstat(statePath); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() == stateFileMode {
		if old, err := r.ReadFile(statePath); err == nil && bytes.Equal(old, data) {
			return nil
		}
	}
	if err := writeFileAs(r, stateDir, stateBase, data, stateFileMode, keepOwner, false); err != nil {
		return err
	}
	return syncDir(r, stateDir)
}

// abs names a path relative to the root, for messages.
func (d *Dir) abs(rel string) string { return filepath.Join(d.root, filepath.FromSlash(rel)) }
