package clusterstate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/store"
)

// StatePath is the file record of certdock's own state.
const StatePath = "certdock/state.json"

// VaultAPI is the part of the Docker client the vault uses.
type VaultAPI interface {
	ConfigAPI
	Configs(ctx context.Context, labelKey string) ([]docker.Config, error)
	RemoveConfig(ctx context.Context, id string) error
}

var _ VaultAPI = (*docker.Client)(nil)

// Local is the node's certbot layout (store.Dir), which the vault fills
// from the swarm and publishes to it.
type Local interface {
	Names() ([]string, error)
	Load(name string) (*cert.Lineage, error)
	Files(name string, certPEM []byte) (map[string][]byte, error)
	SaveAs(name string, n int, b cert.Bundle, meta cert.IssueMeta, replace bool) (*cert.Lineage, error)
	AccountFiles() (map[string][]byte, error)
	WriteAccountFile(rel string, data []byte) error
	LoadState() (*store.State, error)
	SaveState(s *store.State) error
}

var _ Local = (*store.Dir)(nil)

// Vault keeps certdock's state in Swarm configs: one per lineage version
// (VersionRecord) and one per file content (FileRecord: accounts, state).
// Only the lease holder writes (Push); every certdock reads (Pull).
type Vault struct {
	api VaultAPI
	key Key
	log *slog.Logger
	now func() time.Time
}

// NewVault returns a vault over api, sealing with key.
func NewVault(api VaultAPI, key Key, log *slog.Logger) *Vault {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Vault{api: api, key: key, log: log, now: time.Now}
}

// Snapshot is what the swarm holds, as listed once.
type Snapshot struct {
	versions map[string]map[int]docker.Config // lineage → version → config
	files    map[string][]docker.Config       // path → configs, newest first
	verified bool                             // every record opened with the key
}

// Latest returns the newest version of each lineage in the swarm.
func (s *Snapshot) Latest() map[string]int {
	out := map[string]int{}
	for l, vs := range s.versions {
		for n := range vs {
			out[l] = max(out[l], n)
		}
	}
	return out
}

// Snapshot lists the state configs.
func (v *Vault) Snapshot(ctx context.Context) (*Snapshot, error) {
	cfgs, err := v.api.Configs(ctx, LabelState)
	if err != nil {
		return nil, fmt.Errorf("swarm state: %w", err)
	}
	s := &Snapshot{versions: map[string]map[int]docker.Config{}, files: map[string][]docker.Config{}}
	for _, c := range cfgs {
		switch c.Labels[LabelState] {
		case "version":
			n, err := strconv.Atoi(c.Labels[LabelVersion])
			l := c.Labels[LabelLineage]
			if err != nil || cert.ValidName(l) != nil {
				return nil, fmt.Errorf("swarm state: config %s: bad lineage or version label: %w", c.Name, ErrMismatch)
			}
			if s.versions[l] == nil {
				s.versions[l] = map[int]docker.Config{}
			}
			s.versions[l][n] = c
		case "file":
			p := c.Labels[LabelPath]
			s.files[p] = append(s.files[p], c)
		}
	}
	for p := range s.files {
		slices.SortFunc(s.files[p], func(a, b docker.Config) int {
			return -compareWritten(a.Labels[LabelWritten], b.Labels[LabelWritten])
		})
	}
	return s, nil
}

func compareWritten(a, b string) int {
	x, _ := strconv.ParseInt(a, 10, 64)
	y, _ := strconv.ParseInt(b, 10, 64)
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// PullResult says what a Pull changed locally.
type PullResult struct {
	Versions []string // "name vN" imported
	Files    []string // paths written
}

// Pull makes the local layout hold what the swarm holds: every version
// newer than the local one (live/ moves to the newest), the accounts, and
// certdock's state. It opens every record first: a record sealed with
// another key, of a newer format, or inconsistent stops the pull before
// anything is written, with an error naming the config (and
// CERTDOCK_STATE_KEY_FILE for a wrong key). On success snap is verified,
// which Push requires.
func (v *Vault) Pull(ctx context.Context, snap *Snapshot, local Local) (PullResult, error) {
	var res PullResult
	var todo []VersionRecord
	for _, l := range sortedKeys(snap.versions) {
		cur, curCert := 0, []byte(nil)
		if lin, err := local.Load(l); err == nil {
			cur, curCert = lin.Version, lin.CertPEM
		} else if !errors.Is(err, fs.ErrNotExist) {
			v.log.Warn("swarm state: local lineage unreadable; importing the swarm's", "cert", l, "err", err)
		}
		for _, n := range sortedKeys(snap.versions[l]) {
			c := snap.versions[l][n]
			r, err := DecodeVersion(v.key, c.Name, c.Labels, c.Data)
			if err != nil {
				return res, fmt.Errorf("swarm state: %w", err)
			}
			// Newer versions, and the live one when the swarm holds
			// another certificate under its number (this node issued it
			// and died before publishing it).
			if n > cur || n == cur && !bytes.Equal(curCert, r.Bundle.Cert) {
				todo = append(todo, r)
			}
		}
	}
	files := map[string]FileRecord{}
	for _, p := range sortedKeys(snap.files) {
		c := snap.files[p][0]
		f, err := DecodeFile(v.key, c.Name, c.Labels, c.Data)
		if err != nil {
			return res, fmt.Errorf("swarm state: %w", err)
		}
		files[p] = f
	}
	snap.verified = true

	for _, r := range todo {
		_, err := local.SaveAs(r.Lineage, r.Version, r.Bundle, r.Meta, false)
		if errors.Is(err, store.ErrVersionExists) {
			// This node issued that version and died before publishing
			// it; another holder issued its own since. The swarm's wins.
			v.log.Warn("swarm state: a local version that was never published is replaced by the swarm's", "cert", r.Lineage, "version", r.Version)
			_, err = local.SaveAs(r.Lineage, r.Version, r.Bundle, r.Meta, true)
		}
		if err != nil {
			return res, fmt.Errorf("swarm state: importing %s version %d: %w", r.Lineage, r.Version, err)
		}
		res.Versions = append(res.Versions, r.Lineage+" v"+strconv.Itoa(r.Version))
	}
	accounts, err := local.AccountFiles()
	if err != nil {
		return res, err
	}
	for _, p := range sortedKeys(files) {
		f := files[p]
		switch {
		case p == StatePath:
			changed, err := pullState(local, f.Data)
			if err != nil {
				return res, fmt.Errorf("swarm state: %s: %w", p, err)
			}
			if changed {
				res.Files = append(res.Files, p)
			}
		case string(accounts[p]) != string(f.Data):
			if err := local.WriteAccountFile(p, f.Data); err != nil {
				return res, fmt.Errorf("swarm state: %w", err)
			}
			res.Files = append(res.Files, p)
		}
	}
	if len(res.Versions)+len(res.Files) > 0 {
		v.log.Info("local directory updated from the swarm", "versions", res.Versions, "files", res.Files)
	}
	return res, nil
}

// pullState replaces the local state with data when they differ.
func pullState(local Local, data []byte) (bool, error) {
	cur, err := local.LoadState()
	if err != nil {
		return false, err
	}
	if b, err := json.Marshal(cur); err == nil && string(b) == string(data) {
		return false, nil
	}
	s := store.NewState()
	if err := json.Unmarshal(data, s); err != nil {
		return false, fmt.Errorf("%w: %v", ErrMismatch, err)
	}
	return true, local.SaveState(s)
}

// PushResult says what a Push published.
type PushResult struct {
	Versions []string // "name vN" published
	Files    []string // paths published
	Removed  []string // lineages whose records were removed
}

// Push publishes what the local layout holds and the swarm does not: each
// lineage's live version when it is newer than the swarm's newest (a
// renewal, or a directory migrated into the swarm), accounts, and
// certdock's state. Only the lease holder calls it, after a Pull of the
// same snapshot succeeded (else it refuses: a wrong key must never
// overwrite state sealed with the right one). Older records of a file are
// removed once the new one exists, and the records of a lineage removed
// from the directory since the Pull.
func (v *Vault) Push(ctx context.Context, snap *Snapshot, local Local) (PushResult, error) {
	var res PushResult
	if !snap.verified {
		return res, errors.New("swarm state: push before a successful pull of the same snapshot")
	}
	latest := snap.Latest()
	names, err := local.Names()
	if err != nil {
		return res, err
	}
	var errs []error
	for _, name := range names {
		lin, err := local.Load(name)
		if err != nil || lin.Version <= latest[name] {
			continue
		}
		files, err := local.Files(name, lin.CertPEM)
		if err != nil {
			errs = append(errs, fmt.Errorf("swarm state: publishing %s: %w", name, err))
			continue
		}
		r := VersionRecord{Lineage: name, Version: lin.Version,
			Bundle: cert.Bundle{Cert: files["cert.pem"], Chain: files["chain.pem"], PrivateKey: files["privkey.pem"]},
			Meta:   cert.IssueMeta{Server: lin.Server, KeyType: lin.KeyType}}
		cname, data, labels, err := EncodeVersion(v.key, r)
		if err == nil {
			var c docker.Config
			if c, err = v.api.CreateConfig(ctx, cname, data, labels); err == nil {
				if snap.versions[name] == nil {
					snap.versions[name] = map[int]docker.Config{}
				}
				snap.versions[name][lin.Version] = c
				res.Versions = append(res.Versions, name+" v"+strconv.Itoa(lin.Version))
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("swarm state: publishing %s version %d: %w", name, lin.Version, err))
		}
	}

	// A lineage the swarm holds and the holder's directory no longer has
	// was removed here (a Pull made the directory hold everything the
	// swarm did): its records go too, or the next holder would bring it
	// back.
	for _, name := range sortedKeys(snap.versions) {
		if slices.Contains(names, name) {
			continue
		}
		for _, n := range sortedKeys(snap.versions[name]) {
			if err := v.api.RemoveConfig(ctx, snap.versions[name][n].ID); err != nil {
				errs = append(errs, fmt.Errorf("swarm state: removing %s version %d: %w", name, n, err))
				continue
			}
			delete(snap.versions[name], n)
		}
		if len(snap.versions[name]) == 0 {
			delete(snap.versions, name)
			res.Removed = append(res.Removed, name)
		}
	}

	want, err := local.AccountFiles()
	if err != nil {
		return res, errors.Join(append(errs, err)...)
	}
	if want == nil {
		want = map[string][]byte{}
	}
	st, err := local.LoadState()
	if err != nil {
		return res, errors.Join(append(errs, err)...)
	}
	if want[StatePath], err = json.Marshal(st); err != nil {
		return res, errors.Join(append(errs, err)...)
	}
	for _, p := range sortedKeys(want) {
		old := snap.files[p]
		if len(old) > 0 && old[0].Name == FileConfigName(p, want[p]) {
			continue
		}
		name, data, labels, err := EncodeFile(v.key, FileRecord{Path: p, Data: want[p], Written: v.now()})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c, err := v.api.CreateConfig(ctx, name, data, labels)
		if errors.Is(err, docker.ErrConfigExists) {
			// The same content written before (only Written differs):
			// make it the newest by writing it under a fresh time.
			err = v.api.RemoveConfig(ctx, name)
			if err == nil {
				c, err = v.api.CreateConfig(ctx, name, data, labels)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("swarm state: publishing %s: %w", p, err))
			continue
		}
		for _, o := range old {
			if o.ID != c.ID {
				if err := v.api.RemoveConfig(ctx, o.ID); err != nil {
					v.log.Warn("swarm state: removing an older record failed; it is ignored", "config", o.Name, "err", err)
				}
			}
		}
		snap.files[p] = []docker.Config{c}
		res.Files = append(res.Files, p)
	}
	if len(res.Versions)+len(res.Files)+len(res.Removed) > 0 {
		v.log.Debug("published to the swarm", "versions", res.Versions, "files", res.Files, "removed", res.Removed)
	}
	return res, errors.Join(errs...)
}

func sortedKeys[K int | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
