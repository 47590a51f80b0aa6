package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/certdock/certdock/issuer"
	"github.com/certdock/certdock/sandbox"
)

// sandboxServerID names the embedded CA in renewal files: stable across
// starts, so a restarted sandbox does not re-issue valid certificates.
const sandboxServerID = "https://sandbox.certdock.invalid/directory"

// sandboxDomains is written when the sandbox finds no domains.conf: the
// seed README's example.
const sandboxDomains = `# certdock sandbox: any names work here, they are validated by the embedded DNS server.
smtp.example.com
imap.example.com pop.example.com
ldap.example.com
*.example.com example.com
`

const untrustedBanner = `
  *** certdock SANDBOX ***
  The certificates written here are issued by an embedded local test CA (Pebble)
  after DNS-01 validation against an embedded DNS server. They are real X.509
  certificates but NOT TRUSTED by anything: do not deploy them.
  Directory: %s
  Test CA root: %s
`

// cmdSandbox runs the real controller against an in-process ACME CA and
// DNS server: a trial with no credentials.
func cmdSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if os.Getenv("CERTDOCK_DIR") == "" {
		os.Setenv("CERTDOCK_DIR", "certdock-sandbox")
	}
	var once, withDocker *bool
	cfg, _, err := setup("sandbox", args, stderr, func(fl *flag.FlagSet) {
		once = fl.Bool("once", false, "run one pass and exit")
		withDocker = fl.Bool("docker", false, "also serve Docker labels and act on containers (off by default: sandbox certificates are untrusted)")
	})
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return err
	}
	if !exists(cfg.DomainsFile()) {
		if err := os.WriteFile(cfg.DomainsFile(), []byte(sandboxDomains), 0o644); err != nil {
			return err
		}
		log.Info("wrote an example domains.conf", "file", cfg.DomainsFile())
	}
	env, err := sandbox.Start(ctx, log)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer env.Close()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(env.TLSRootPEM) {
		return errors.New("sandbox: bad TLS root")
	}
	rootFile := filepath.Join(cfg.Dir, "sandbox-root.pem")
	if roots, err := env.IssuerRootsPEM(); err == nil {
		if err := os.WriteFile(rootFile, roots, 0o644); err != nil {
			return err
		}
	}
	cfg.DirectoryURL = env.DirectoryURL
	cfg.Provider = "sandbox"
	cfg.Resolvers = []string{env.DNSAddr}
	a, err := build(cfg, log, func(ic *issuer.Config) {
		ic.CAPool = pool
		ic.CACertificates = nil
		ic.Provider = env.Provider
		ic.ProviderName = "sandbox"
		ic.ServerID = sandboxServerID
	}, *withDocker)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, untrustedBanner, cfg.Dir, rootFile)
	err = serve(ctx, a, *once)
	if err == nil || errors.Is(err, errFailed) {
		fmt.Fprintf(stdout, "\nSandbox certificates (UNTRUSTED) are in %s/live/; the CA root is %s (a new one at every start).\n", cfg.Dir, rootFile)
	}
	return err
}
