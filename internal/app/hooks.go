package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/store"
)

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

// deployer runs the steps after a new version's files: PFX, modes and
// owners, then DEPLOY_HOOK (by sh -c, as the seed image did), before the
// Docker actions; config.yml's deploy_hook after them (DeployFinal).
type deployer struct {
	store *store.Dir
	cfg   *config.Config
	log   *slog.Logger
	// extras give dnsrobocert's per-certificate pfx and deploy_hook.
	extras *certExtras
}

var _ controller.FinalDeployer = deployer{}

// Deploy implements controller.Deployer.
func (d deployer) Deploy(ctx context.Context, spec cert.Spec, lin *cert.Lineage) error {
	var errs []error
	x, _ := d.extras.get(spec.Name)
	switch {
	case x.pfx != nil && x.pfx.Export:
		if err := d.store.WritePFX(spec.Name, store.PFXOptions{Passphrase: x.pfx.Passphrase, Legacy: d.cfg.PFXLegacy}); err != nil {
			errs = append(errs, fmt.Errorf("PFX (config.yml pfx): %w", err))
		}
	case d.cfg.PFXExport:
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

// DeployFinal implements controller.FinalDeployer: dnsrobocert's
// deploy_hook, run by sh -c with its variables once the certificate's
// autorestart and autocmd actions have run, in dnsrobocert's order.
func (d deployer) DeployFinal(ctx context.Context, spec cert.Spec) error {
	x, _ := d.extras.get(spec.Name)
	if x.deployHook == "" {
		return nil
	}
	lin, err := d.store.Load(spec.Name)
	if err != nil {
		return fmt.Errorf("config.yml deploy_hook: %w", err)
	}
	env := append(certEnv(d.store.LivePath(spec.Name), spec, lin), x.env...)
	if err := runCommand(ctx, []string{"sh", "-c", x.deployHook}, env); err != nil {
		return fmt.Errorf("config.yml deploy_hook: %w", err)
	}
	d.log.Info("config.yml deploy hook done", "cert", spec.Name)
	return nil
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
