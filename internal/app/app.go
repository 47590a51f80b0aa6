// Package app wires certdock's parts together: configuration → store,
// issuer, sources → controller. The binary (cmd/certdock) and the
// end-to-end tests build the product through it, so tests run exactly the
// wiring users get; only the DNS provider factory differs (the binary links
// every lego provider, tests link one).
package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-acme/lego/v5/challenge"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/deliver"
	"github.com/certdock/certdock/dnsprofile"
	"github.com/certdock/certdock/internal/filewatch"
	"github.com/certdock/certdock/internal/ops"
	"github.com/certdock/certdock/issuer"
	"github.com/certdock/certdock/store"
)

// ErrFailed means some certificates or lines failed in a one-shot pass;
// the details were logged.
var ErrFailed = errors.New("some certificates failed")

// App is the wired product.
type App struct {
	Config     *config.Config
	Log        *slog.Logger
	Store      *store.Dir
	Issuer     *issuer.Issuer
	Controller *controller.Controller
	Docker     Docker // nil without Docker
	Metrics    *ops.Metrics
	Health     *ops.Health

	swarm *swarmState // nil unless CERTDOCK_STATE=swarm

	deploy deployer
}

// Options adjust Build.
type Options struct {
	// Provider builds the DNS provider named by the configuration. An
	// error is not fatal: every issuance then fails with it (and is
	// retried), while valid certificates on disk are left alone.
	Provider func(name string) (challenge.Provider, error)
	// ProfileProvider builds a DNS profile's provider; it runs inside
	// issuer.BuildProvider, so the environment holds the profile's own
	// variables. Nil: Provider(p.Provider).
	ProfileProvider func(p dnsprofile.Profile) (challenge.Provider, error)
	// Issuer, when set, edits the issuer configuration last (sandbox).
	Issuer func(*issuer.Config)
	// Docker, when set, adds the labels of containers and services to the
	// desired set, triggers passes on events and performs actions.
	Docker Docker
	// Version is reported in certdock_build_info.
	Version string
}

// Build wires the product from cfg.
func Build(cfg *config.Config, log *slog.Logger, opts Options) (*App, error) {
	sopts := store.Options{DirMode: cfg.DirsMode, FileMode: cfg.FilesMode}
	if cfg.UID >= 0 || cfg.GID >= 0 {
		// New files get their owner before they become visible, so a
		// consumer running as CERTS_*_OWNER can always read them.
		sopts.Owner = &store.Ownership{UID: cfg.UID, GID: cfg.GID}
	}
	st := store.New(cfg.Dir, sopts)
	icfg := issuer.Config{
		DirectoryURL:       cfg.DirectoryURL,
		Email:              cfg.Email,
		KeyType:            cfg.KeyType,
		AccountsDir:        filepath.Join(cfg.Dir, "accounts"),
		CACertificates:     cfg.CACertificates,
		ProviderName:       cfg.Provider,
		Resolvers:          cfg.Resolvers,
		SleepTime:          cfg.SleepTime,
		EABKID:             cfg.EABKID,
		EABHMAC:            cfg.EABHMAC,
		Logger:             log,
		UserAgent:          "certdock",
		DelegatedSubdomain: cfg.DelegatedSubdomain,
	}
	if cfg.Challenge == config.ChallengeDNSPersist01 {
		// No DNS provider is needed: at most a writer that creates a
		// missing record once (rfc2136).
		icfg.Challenge, icfg.PersistUntil, icfg.PersistWriter = issuer.ChallengeDNSPersist01, cfg.PersistUntil, persistWriter(cfg, log)
	} else if opts.Provider != nil {
		p, err := opts.Provider(cfg.Provider)
		icfg.Provider, icfg.ProviderErr = p, err
		if err != nil {
			log.Error("DNS provider not usable: certificates cannot be issued until this is fixed", "provider", cfg.Provider, "err", err)
		}
	}
	profiles := profileSet(cfg, log)
	extras := &certExtras{} // dnsrobocert's per-certificate settings
	icfg.Profiles = profileIssuers(profiles, opts.profileFactory(), log)
	if opts.Issuer != nil {
		opts.Issuer(&icfg)
	}
	if icfg.Provider == nil && icfg.ProviderErr == nil {
		icfg.ProviderErr = errNoProvider
	}
	iss, err := issuer.New(icfg)
	if err != nil {
		return nil, err
	}
	sources := []controller.Source{RouteProfiles(DomainsSource(cfg.DomainsFile(), cfg.Cluster == config.ClusterSwarm, log), profiles, cfg.LabelPrefix)}
	if cfg.DnsrobocertConfig != "" {
		sources = append(sources, RouteProfiles(dnsrobocertSource(cfg.DnsrobocertConfig, os.LookupEnv, log, extras), profiles, cfg.LabelPrefix))
	}
	metrics, health := ops.NewMetrics(opts.Version), ops.NewHealth()
	var actor controller.Actor
	var ls *labelSource
	if opts.Docker != nil {
		ls = &labelSource{docker: opts.Docker, prefix: cfg.LabelPrefix, allowed: cfg.AllowedDomains, traefik: cfg.TraefikLabels, log: log}
		sources = append(sources, RouteProfiles(ls, profiles, cfg.LabelPrefix))
		actor = countingActor{next: opts.Docker, m: metrics}
		health.SetProbe("docker", dockerProbe(opts.Docker))
		if cfg.AllowedDomains == nil {
			log.Warn("CERTDOCK_ALLOWED_DOMAINS is unset: any container or service may request certificates for any name")
		}
	}
	dep := deployer{store: st, cfg: cfg, log: log, extras: extras}
	mem := newStateMemory(st, log)
	mem.check = health.SetCheck
	var obs controller.Observer = observer{m: metrics, h: health, stateDir: stateDir(cfg.Dir)}
	var ss *swarmState
	switch {
	case cfg.State == config.StateSwarm && opts.Docker == nil:
		// status and check read the local directory; only the daemon
		// and the commands that act talk to the swarm.
	case cfg.State == config.StateSwarm:
		var err error
		if ss, err = newSwarmState(cfg.StateKeyFile, opts.Docker, st, mem, log); err != nil {
			return nil, err
		}
	case cfg.StateKeyMissing:
		log.Warn("CERTDOCK_STATE_KEY_FILE is not set: certdock's state stays on this node's volume, and a certdock started on another node registers a new account and issues every certificate again; set it to keep the state in the swarm (README: Swarm state)")
	}
	copts := controller.Options{
		Workers:        cfg.Workers,
		DefaultKeyType: explicitKeyType(cfg),
		Profile:        cfg.Profile,
		Interval:       cfg.CheckInterval,
		Logger:         log,
		Memory:         mem,
		Deployer:       dep,
		Locker:         fileLocker{dir: filepath.Join(cfg.Dir, "certdock", "locks")},
		RevokeRemoved:  cfg.RevokeRemoved,
		LabelGrace:     cfg.LabelGrace,
		Observer:       obs,
		ConfigTag:      configTag(cfg),
	}
	if cfg.Cron != nil {
		loc := cfg.Location
		if loc == nil {
			loc = time.UTC
		}
		copts.Window = func(after time.Time) time.Time { return cfg.Cron.Next(after.In(loc)) }
	}
	if opts.Docker != nil {
		copts.Deliverer = deliver.New(opts.Docker, st, deliver.Options{Logger: log})
	}
	if len(cfg.OnFailure) > 0 {
		copts.Notifier = failureNotifier{argv: cfg.OnFailure, log: log}
	}
	var cstore controller.Store = st
	if ss != nil {
		cstore = publishingStore{Store: st, s: ss}
	}
	ctrl := controller.New(cstore, acmeIssuer{iss: iss, store: st, reuseKey: cfg.ReuseKey, extras: extras}, sources, actor, copts)
	if ls != nil {
		ls.retry = ctrl.Trigger
	}
	return &App{Config: cfg, Log: log, Store: st, Issuer: iss, Controller: ctrl, Docker: opts.Docker, Metrics: metrics, Health: health, deploy: dep, swarm: ss}, nil
}

// DomainsSource reads domains.conf on every pass. A missing file means no
// certificates (with a warning); an unreadable one is a problem reported
// for the pass. With swarm (DOCKER_CLUSTER_PROVIDER=swarm) the names of
// autorestart-containers= are services, and autocmd-containers= is
// refused for that line (as in the seed image), the certificate itself
// still being served.
func DomainsSource(path string, swarm bool, log *slog.Logger) controller.Source {
	return &domainsSource{path: path, swarm: swarm, log: log}
}

type domainsSource struct {
	path  string
	swarm bool
	log   *slog.Logger

	mu   sync.Mutex
	last *parsedDomains // the last parse, reused while the bytes are the same
}

// Desired implements controller.Source. domains.conf is complete when it
// was read whole and clean: while it is missing, unreadable or has a bad
// line (which may be a certificate's line with a typo), nothing defined
// by it is removed. A file whose bytes did not change since the last pass
// is not parsed again.
func (d *domainsSource) Desired(context.Context) ([]cert.Spec, []error, bool) {
	data, err := os.ReadFile(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		d.log.Warn("no domains.conf: no certificates requested from it", "file", d.path)
		return nil, nil, false
	}
	if err != nil {
		return nil, []error{fmt.Errorf("%s: %w (%w)", d.path, err, controller.ErrSourceUnavailable)}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil || !bytes.Equal(d.last.data, data) {
		specs, problems := config.ParseDomains(d.path, bytes.NewReader(data))
		complete := len(problems) == 0
		if d.swarm {
			problems = append(problems, swarmActions(specs)...)
		}
		d.last = &parsedDomains{data: data, specs: specs, problems: problems, complete: complete}
	}
	return slices.Clip(d.last.specs), slices.Clip(d.last.problems), d.last.complete
}

// parsedDomains is one parse of domains.conf, kept with its bytes.
type parsedDomains struct {
	data     []byte
	specs    []cert.Spec
	problems []error
	complete bool
}

// swarmActions turns restarts into service force-updates and drops execs,
// reporting each dropped exec against its line.
func swarmActions(specs []cert.Spec) []error {
	var problems []error
	for i := range specs {
		var kept []cert.Action
		for _, a := range specs[i].Actions {
			switch a.Kind {
			case cert.Restart:
				a.Service = true
				kept = append(kept, a)
			default:
				problems = append(problems, &config.LineError{File: specs[i].Source.File, Line: specs[i].Source.Line,
					Err: fmt.Errorf("autocmd-containers=%s is not supported with DOCKER_CLUSTER_PROVIDER=swarm (a command would run in one task, not the service); use autorestart-containers= or a certdock.restart=true service label", a.Target)})
			}
		}
		specs[i].Actions = kept
	}
	return problems
}

// Startup repairs the store before the first pass.
func (a *App) Startup() {
	repaired, err := a.Store.Repair()
	for _, name := range repaired {
		a.Log.Warn("repaired live/ links to the newest complete version", "cert", name)
	}
	if err != nil {
		a.Log.Error("store repair incomplete", "err", err)
	}
	a.deploy.refreshPFX()
}

// Serve repairs the store, then runs one pass (once; ErrFailed when any
// certificate or line failed) or the daemon until ctx ends.
func (a *App) Serve(ctx context.Context, once bool) error {
	a.Startup()
	if once {
		if err := a.OneShot(ctx); err != nil {
			return err
		}
		res := a.Controller.RunOnce(ctx)
		a.Log.Info("pass done", "issued", len(res.Issued), "unchanged", len(res.Unchanged), "failed", len(res.Failed), "problems", len(res.Problems))
		if res.Err() != nil {
			return ErrFailed
		}
		return nil
	}
	ln, err := a.listen()
	if err != nil {
		return err
	}
	if ln != nil {
		a.Log.Info("serving the status page, /api/status, /healthz and /metrics", "addr", ln.Addr().String())
		go func() {
			if err := ops.ServeListener(ctx, ln, a.handler(), a.Log); err != nil {
				a.Log.Error("health and metrics endpoint stopped", "err", err)
			}
		}()
	}
	a.Log.Info("certdock running", "dir", a.Config.Dir, "server", a.Issuer.Server(), "provider", a.Config.Provider, "check_interval", a.Config.CheckInterval, "docker", a.Docker != nil)
	if a.swarm != nil {
		// A certdock that follows the holder is healthy: it keeps its
		// directory in sync and stands by.
		a.Health.SetReady()
		return a.swarm.lead(ctx, a.run)
	}
	return a.run(ctx)
}

// run is the daemon's work: Docker events, domains.conf changes and the
// controller, until ctx ends.
func (a *App) run(ctx context.Context) error {
	if a.Docker != nil {
		go a.Docker.Watch(ctx, watchHandler{trigger: a.Controller.Trigger, log: a.Log, metrics: a.Metrics})
	}
	// domains.conf edits (in place, by rename, or a bind mount whose inode
	// changed) are applied within about a second: directory watch plus a
	// content hash compared every second.
	go func() {
		onChange := func() {
			a.Log.Info("domains.conf changed: applying it", "file", a.Config.DomainsFile())
			a.Controller.TriggerNow()
		}
		if err := filewatch.Watch(ctx, a.Config.DomainsFile(), time.Second, onChange); err != nil {
			a.Log.Error("cannot watch domains.conf; it is re-read every CERTDOCK_CHECK_INTERVAL", "err", err)
		}
	}()
	return a.Controller.Run(ctx)
}

// configTag fingerprints the configuration issuance depends on: a
// certificate that failed for a configuration error (a missing credential,
// an unknown provider) is retried at once when it changes. Secrets are
// hashed, never kept.
func configTag(cfg *config.Config) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00", cfg.DirectoryURL, cfg.Provider, cfg.Profile, cfg.KeyType, cfg.EABKID, cfg.EABHMAC)
	// Every provider variable may matter (lego reads them from the
	// environment), and so may the files *_FILE variables name (a secret
	// replaced in place).
	env := os.Environ()
	slices.Sort(env)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if sessionVars[k] {
			continue
		}
		fmt.Fprintf(h, "%s\x00", kv)
		if strings.HasSuffix(k, "_FILE") {
			if b, err := os.ReadFile(v); err == nil {
				h.Write(b)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// sessionVars describe a shell session, not certdock's configuration: a
// `docker exec … certdock status` must see the daemon's configuration tag.
var sessionVars = map[string]bool{
	"TERM": true, "HOME": true, "PWD": true, "OLDPWD": true, "SHLVL": true, "_": true, "HOSTNAME": true,
	"PATH": true, "SHELL": true, "USER": true, "LOGNAME": true, "COLUMNS": true, "LINES": true, "LS_COLORS": true,
}

// explicitKeyType is the key type every certificate must have: the
// configured one when ACME_KEY_TYPE is set, else none (new certificates
// still get the default, existing ones keep theirs).
func explicitKeyType(cfg *config.Config) cert.KeyType {
	if cfg.KeyTypeSet {
		return cfg.KeyType
	}
	return ""
}
