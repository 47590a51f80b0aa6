package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/internal/app"
	"github.com/certdock/certdock/internal/certstatus"
	"github.com/certdock/certdock/issuer"
	"github.com/go-acme/lego/v5/challenge"
)

// setup parses a subcommand's flags (defined by flags, which may be nil)
// and reads the configuration from the environment.
func setup(name string, args []string, stderr io.Writer, flags func(*flag.FlagSet)) (*config.Config, *flag.FlagSet, error) {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(stderr)
	if flags != nil {
		flags(fl)
	}
	if err := fl.Parse(args); err != nil {
		return nil, nil, flagError{err}
	}
	cfg, err := loadConfig()
	return cfg, fl, err
}

// loadConfig reads the environment; errors are usage errors (exit 2).
func loadConfig() (*config.Config, error) {
	getenv, robo, err := dnsroboSettings()
	if err != nil {
		return nil, err
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return nil, usageError{fmt.Errorf("configuration:\n%w", err)}
	}
	if err := withProfiles(cfg, robo); err != nil {
		return nil, err
	}
	return cfg, nil
}

// build wires the product with every lego DNS provider. An unknown
// provider name is a configuration error (exit 2); missing credentials are
// not: certificates on disk keep being served and issuance is retried.
func build(cfg *config.Config, log *slog.Logger, issuerEdit func(*issuer.Config), withDocker bool) (*app.App, error) {
	opts := app.Options{Issuer: issuerEdit, Version: buildVersion()}
	if issuerEdit == nil {
		if _, err := applyLexicon(cfg); err != nil {
			return nil, err
		}
	}
	if withDocker {
		// DOCKER_HOST (unix:// or tcp://, e.g. a socket proxy) is honoured;
		// an unreachable engine is retried, domains.conf is served meanwhile.
		dc, err := docker.New(docker.Options{Host: os.Getenv("DOCKER_HOST"), LabelPrefix: cfg.LabelPrefix, ExtraLabelPrefixes: app.ExtraLabelPrefixes(cfg), Logger: log})
		if err != nil {
			return nil, usageError{fmt.Errorf("DOCKER_HOST: %w", err)}
		}
		opts.Docker = dc
	}
	if issuerEdit == nil {
		if !slices.Contains(providerNames, cfg.Provider) {
			_, err := newProvider(cfg.Provider, cfg.ProviderVar)
			return nil, usageError{err}
		}
		opts.Provider = func(name string) (challenge.Provider, error) { return newProvider(name, cfg.ProviderVar) }
		opts.ProfileProvider = profileProvider
	}
	a, err := app.Build(cfg, log, opts)
	if err != nil {
		return nil, usageError{err}
	}
	return a, nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var once *bool
	cfg, _, err := setup("run", args, stderr, func(fl *flag.FlagSet) {
		once = fl.Bool("once", false, "run one pass and exit (non-zero if anything failed)")
	})
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	a, err := build(cfg, log, nil, true)
	if err != nil {
		return err
	}
	return serve(ctx, a, *once)
}

// serve runs the app and maps its one-shot failure to exit code 1.
func serve(ctx context.Context, a *app.App, once bool) error {
	err := a.Serve(ctx, once)
	if errors.Is(err, app.ErrFailed) {
		return errFailed
	}
	return err
}

func cmdRenew(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var force *bool
	cfg, fl, err := setup("renew", args, stderr, func(fl *flag.FlagSet) {
		force = fl.Bool("force", false, "renew even when not due")
	})
	if err != nil {
		return err
	}
	if fl.NArg() == 0 {
		return usageError{errors.New("renew: name at least one certificate (see certdock status)")}
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	a, err := build(cfg, log, nil, true)
	if err != nil {
		return err
	}
	if err := a.OneShot(ctx); err != nil {
		return err
	}
	a.Startup()
	res := a.Controller.Renew(ctx, fl.Args(), *force)
	for _, n := range res.Issued {
		fmt.Fprintf(stdout, "renewed %s\n", n)
	}
	for _, n := range res.Unchanged {
		fmt.Fprintf(stdout, "not due %s (use --force)\n", n)
	}
	for n, e := range res.Failed {
		fmt.Fprintf(stdout, "FAILED %s: %v\n", n, e)
	}
	if len(res.Failed) > 0 {
		return errFailed
	}
	return nil
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, _, err := setup("check", args, stderr, nil)
	if err != nil {
		return err
	}
	ok := true
	fmt.Fprintln(stdout, "Settings:")
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	for _, kv := range cfg.Summary() {
		fmt.Fprintf(tw, "  %s\t%s\n", kv.Key, kv.Value)
	}
	tw.Flush()
	tr, lerr := applyLexicon(cfg)
	if lerr != nil {
		ok = false
		fmt.Fprintf(stdout, "\nERROR: %v\n", lerr)
	}
	persist := cfg.Challenge == config.ChallengeDNSPersist01
	defaultBroken := false // the default provider cannot be built (an error if a certificate needs it)
	if persist && cfg.ProviderVar == "" {
		fmt.Fprintln(stdout, "\nDNS provider: none needed (CERTDOCK_CHALLENGE=dns-persist-01: the records below are created once)")
	} else {
		fmt.Fprintf(stdout, "\nDNS provider: %s", cfg.Provider)
		if cfg.ProviderVar != "" {
			fmt.Fprintf(stdout, " (from %s)", cfg.ProviderVar)
		}
		fmt.Fprintln(stdout)
		if persist {
			fmt.Fprintln(stdout, "  with dns-persist-01 it is only used to create missing records, and only rfc2136 can")
		}
		if _, perr := newProvider(cfg.Provider, cfg.ProviderVar); perr != nil {
			defaultBroken = !persist // with dns-persist-01 the provider is optional
			fmt.Fprintf(stdout, "  ERROR: %v\n", perr)
		} else {
			fmt.Fprintln(stdout, "  credentials: found")
		}
	}
	printLexicon(stdout, tr)
	for _, kv := range providerEnv(cfg.Provider) {
		fmt.Fprintf(stdout, "  %s=%s\n", kv[0], kv[1])
	}
	set, pok := printProfiles(stdout, cfg)
	ok = ok && pok
	fmt.Fprintf(stdout, "\nDesired certificates (%s):\n", cfg.DomainsFile())
	log := slog.New(slog.DiscardHandler)
	specs, problems, _ := app.RouteProfiles(app.DomainsSource(cfg.DomainsFile(), cfg.Cluster == config.ClusterSwarm, log), set, cfg.LabelPrefix).Desired(ctx)
	if !exists(cfg.DomainsFile()) {
		fmt.Fprintln(stdout, "  (no domains.conf)")
	}
	tw = tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	for _, s := range specs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", s.Name, strings.Join(s.Domains, " "), s.Source, actionsText(s.Actions), profileText(s.DNSProfile))
	}
	tw.Flush()
	for _, p := range problems {
		ok = false
		fmt.Fprintf(stdout, "  ERROR: %v\n", p)
	}
	printPersistRecords(ctx, stdout, cfg)
	rok, roboSpecs := printDnsrobocert(ctx, stdout, cfg, set)
	ok = rok && ok && !(defaultBroken && defaultNeeded(stdout, set, append(specs, roboSpecs...)))
	if !ok {
		return errFailed
	}
	fmt.Fprintln(stdout, "\nconfiguration OK")
	return nil
}

func actionsText(acts []cert.Action) string {
	var parts []string
	for _, a := range acts {
		parts = append(parts, a.String())
	}
	return strings.Join(parts, "; ")
}

// statusRow and deliveryRow are the rows `certdock status` prints, built
// by package certstatus (which the daemon's /api/status shares).
type (
	statusRow   = certstatus.Row
	deliveryRow = certstatus.Delivery
)

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var asJSON *bool
	cfg, _, err := setup("status", args, stderr, func(fl *flag.FlagSet) {
		asJSON = fl.Bool("json", false, "print JSON instead of a table")
	})
	if err != nil {
		return err
	}
	rows, bad, err := statusRows(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := certstatus.WriteJSON(stdout, rows); err != nil {
			return err
		}
	} else {
		printStatus(stdout, rows)
	}
	if bad {
		return errFailed
	}
	return nil
}

// statusRows evaluates every certificate the way the daemon would, with
// its decision chain and the same environment (key type, CA, maintenance
// window, recorded ARI windows and failures), without contacting the CA
// or Docker: label certificates are shown as the daemon last recorded
// them. bad is true when a lineage is broken.
func statusRows(ctx context.Context, cfg *config.Config) (rows []statusRow, bad bool, err error) {
	a, err := app.Build(cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		return nil, false, err
	}
	certs, _ := a.Controller.Status(ctx)
	rows, bad = certstatus.Rows(certs, time.Now())
	return rows, bad, nil
}

func printStatus(w io.Writer, rows []statusRow) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDOMAINS\tNOT AFTER\tDAYS LEFT\tRENEWAL DUE\tSOURCE\tTARGETS\tNEXT\tSTATE")
	day := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04")
	}
	for _, r := range rows {
		domains, days, targets := "-", "-", "-"
		if len(r.Domains) > 0 {
			domains = strings.Join(r.Domains, ",")
		}
		if r.DaysLeft != nil {
			days = strconv.Itoa(*r.DaysLeft)
		}
		all := slices.Clone(r.Targets)
		for _, d := range r.Deliveries {
			all = append(all, d.String())
		}
		if len(all) > 0 {
			targets = strings.Join(all, "; ")
		}
		st := r.State
		if r.Failures > 0 {
			st += fmt.Sprintf("; FAILING (%d in a row, next attempt %s): %s", r.Failures, r.NextAttempt.UTC().Format("2006-01-02 15:04:05"), r.LastError)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, domains, day(r.NotAfter), days, day(r.RenewalDue), r.Source, targets, r.Next, st)
	}
	tw.Flush()
}
