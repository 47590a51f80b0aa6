package app

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/issuer"
	"github.com/certdock/certdock/store"
)

// fileLocker serialises work on one certificate across processes with an
// flock(2) on CERTDOCK_DIR/certdock/locks/<name>.lock, so `certdock renew
// --force` next to a running daemon never places two orders at once.
type fileLocker struct{ dir string }

var _ controller.Locker = fileLocker{}

// Lock waits for the lock (polling, so ctx can cancel the wait).
func (l fileLocker) Lock(ctx context.Context, name string) (func(), error) {
	if err := cert.ValidName(name); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(l.dir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// hookTimeout bounds DEPLOY_HOOK and CERTDOCK_ON_FAILURE commands.
const hookTimeout = 5 * time.Minute

// runCommand runs argv with extra environment variables, logging the
// output tail on failure.
func runCommand(ctx context.Context, argv []string, env []string) error {
	ctx, cancel := context.WithTimeout(ctx, hookTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		tail := out.String()
		if len(tail) > 2048 {
			tail = tail[len(tail)-2048:]
		}
		return fmt.Errorf("%s: %w; output: %s", argv[0], err, strings.TrimSpace(tail))
	}
	return nil
}

// certEnv describes a certificate to hooks, as certbot does
// (RENEWED_LINEAGE, RENEWED_DOMAINS) plus CERTDOCK_* variables.
func certEnv(livePath string, spec cert.Spec, lin *cert.Lineage) []string {
	env := []string{
		"RENEWED_LINEAGE=" + livePath,
		"RENEWED_DOMAINS=" + strings.Join(spec.Domains, " "),
		"CERTDOCK_CERT=" + spec.Name,
		"CERTDOCK_DOMAINS=" + strings.Join(spec.Domains, " "),
		"CERTDOCK_LIVE=" + livePath,
	}
	if lin != nil {
		env = append(env,
			"CERTDOCK_VERSION="+strconv.Itoa(lin.Version),
			"CERTDOCK_NOT_AFTER="+lin.NotAfter.UTC().Format(time.RFC3339))
	}
	return env
}

// failureNotifier runs CERTDOCK_ON_FAILURE (argv, no shell) once per
// failure streak, with the certificate's name, domains and error in its
// environment.
type failureNotifier struct {
	argv []string
	log  *slog.Logger
}

// Failed implements controller.Notifier.
func (n failureNotifier) Failed(ctx context.Context, spec cert.Spec, err error, failures int) {
	env := []string{
		"CERTDOCK_CERT=" + spec.Name,
		"CERTDOCK_DOMAINS=" + strings.Join(spec.Domains, " "),
		"CERTDOCK_ERROR=" + err.Error(),
		"CERTDOCK_FAILURES=" + strconv.Itoa(failures),
	}
	if rerr := runCommand(ctx, n.argv, env); rerr != nil {
		n.log.Error("CERTDOCK_ON_FAILURE command failed", "cert", spec.Name, "err", rerr)
		return
	}
	n.log.Info("failure notification sent", "cert", spec.Name)
}

// stateMemory keeps the controller's Records in the store's state file
// (CERTDOCK_DIR/certdock/state.json), saved after every change, so
// backoff and ownership survive restarts.
type stateMemory struct {
	store interface{ SaveState(*store.State) error }
	log   *slog.Logger
	check func(name string, err error) // health: the store check

	mu       sync.Mutex
	state    *store.State
	deferred int  // open Defer calls: saving waits for the last
	dirty    bool // changed while deferred
}

var (
	_ controller.Memory   = (*stateMemory)(nil)
	_ controller.Deferrer = (*stateMemory)(nil)
)

// Defer implements controller.Deferrer: until the returned function runs,
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
	ls, ok := m.state.Lineages[name]
	if !ok || ls == nil {
		return controller.Record{}, false
	}
	return controller.Record{
		Owned: ls.Owned, Origin: cert.SourceKind(ls.Origin), LastWanted: ls.LastWanted,
		Source: ls.Source, Targets: slices.Clone(ls.Targets),
		Failures: ls.Failures, NextAttempt: ls.NextAttempt, LastError: ls.LastError, Notified: ls.Notified,
	}, true
}

// Put implements controller.Memory.
func (m *stateMemory) Put(name string, r controller.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state.Lineages[name] = &store.LineageState{
		Owned: r.Owned, Origin: string(r.Origin), LastWanted: r.LastWanted,
		Source: r.Source, Targets: slices.Clone(r.Targets),
		Failures: r.Failures, NextAttempt: r.NextAttempt, LastError: r.LastError, Notified: r.Notified,
	}
	m.saveLocked()
}

// Delete implements controller.Memory.
func (m *stateMemory) Delete(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.state.Lineages, name)
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

// deployer runs the steps after a new version's files: PFX, modes and
// owners, then DEPLOY_HOOK (by sh -c, as the seed image did).
type deployer struct {
	store *store.Dir
	cfg   *config.Config
	log   *slog.Logger
}

var _ controller.Deployer = deployer{}

// Deploy implements controller.Deployer.
func (d deployer) Deploy(ctx context.Context, spec cert.Spec, lin *cert.Lineage) error {
	var errs []error
	if d.cfg.PFXExport {
		if err := d.store.WritePFX(spec.Name, d.pfxOptions()); err != nil {
			errs = append(errs, fmt.Errorf("PFX: %w", err))
		}
	}
	if d.cfg.UID >= 0 || d.cfg.GID >= 0 {
		if err := d.store.ApplyOwnership(spec.Name, store.Ownership{UID: d.cfg.UID, GID: d.cfg.GID}); err != nil {
			errs = append(errs, fmt.Errorf("owners: %w", err))
		}
	}
	if d.cfg.DeployHook != "" {
		env := append(certEnv(d.store.LivePath(spec.Name), spec, lin),
			"CERTS_USER_OWNER="+os.Getenv("CERTS_USER_OWNER"), "CERTS_GROUP_OWNER="+os.Getenv("CERTS_GROUP_OWNER"))
		if err := runCommand(ctx, []string{"sh", "-c", d.cfg.DeployHook}, env); err != nil {
			errs = append(errs, fmt.Errorf("DEPLOY_HOOK: %w", err))
		} else {
			d.log.Info("deploy hook done", "cert", spec.Name)
		}
	}
	return errors.Join(errs...)
}

func (d deployer) pfxOptions() store.PFXOptions {
	return store.PFXOptions{Passphrase: d.cfg.PFXPassphrase, Legacy: d.cfg.PFXLegacy}
}

// refreshPFX writes (or leaves, when already current) cert.pfx for every
// lineage at startup: a crash between a new version and its PFX, or
// PFX_EXPORT just turned on, is caught up here.
func (d deployer) refreshPFX() {
	if !d.cfg.PFXExport {
		return
	}
	names, err := d.store.Names()
	if err != nil {
		return
	}
	for _, n := range names {
		if err := d.store.WritePFX(n, d.pfxOptions()); err != nil {
			d.log.Warn("PFX export failed", "cert", n, "err", err)
		}
	}
}

// renewingIssuer lets the controller renew through the issuer's Renew
// (ARI ReplacesCertID, ACME_REUSE_KEY) and revoke removed certificates.
type renewingIssuer struct {
	*issuer.Issuer
	store    *store.Dir
	reuseKey bool
}

var (
	_ controller.Renewer = renewingIssuer{}
	_ controller.Revoker = renewingIssuer{}
)

// Renew implements controller.Renewer.
func (r renewingIssuer) Renew(ctx context.Context, spec cert.Spec, cur *cert.Lineage) (cert.Bundle, cert.IssueMeta, error) {
	var keyPEM []byte
	if r.reuseKey {
		key, err := os.ReadFile(filepath.Join(r.store.LivePath(spec.Name), "privkey.pem"))
		if err == nil {
			keyPEM = key
		}
	}
	return r.Issuer.Renew(ctx, spec, cur.Leaf, keyPEM, r.reuseKey && keyPEM != nil)
}

// ariFunc adapts the issuer's ARI lookup for the controller.
func ariFunc(iss *issuer.Issuer) func(ctx context.Context, leaf *x509.Certificate) (time.Time, time.Time, bool) {
	return func(ctx context.Context, leaf *x509.Certificate) (time.Time, time.Time, bool) {
		w, err := iss.RenewalWindow(ctx, leaf)
		if err != nil {
			return time.Time{}, time.Time{}, false
		}
		return w.Start, w.End, true
	}
}
