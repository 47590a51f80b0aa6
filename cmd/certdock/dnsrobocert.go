package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/dnsprofile"
	"github.com/certdock/certdock/dnsrobocert"
	"github.com/certdock/certdock/internal/app"
)

// dnsroboDefault is dnsrobocert's config.yml in its image: read when no
// variable names one and the file is there.
var dnsroboDefault = "/etc/dnsrobocert/config.yml"

// dnsroboSettings finds dnsrobocert's config.yml (CERTDOCK_DNSROBOCERT_CONFIG,
// else CONFIG_PATH, else dnsroboDefault when present) and reads it. Its
// acme section (and dnsrobocert's CERTS_PATH, for CERTDOCK_DIR) fills the
// seed variables the environment leaves unset (the environment wins); the returned getenv gives the result to
// config.FromEnv. An unreadable or invalid file is a usage error naming
// the file and line.
func dnsroboSettings() (func(string) string, *dnsrobocert.Config, error) {
	path, from := os.Getenv("CERTDOCK_DNSROBOCERT_CONFIG"), "CERTDOCK_DNSROBOCERT_CONFIG"
	if path == "" {
		path, from = os.Getenv("CONFIG_PATH"), "CONFIG_PATH"
	}
	if path == "" {
		if _, err := os.Stat(dnsroboDefault); err != nil {
			return os.Getenv, nil, nil
		}
		path, from = dnsroboDefault, ""
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if from != "" {
			err = fmt.Errorf("%s: %w", from, err)
		}
		return nil, nil, usageError{fmt.Errorf("dnsrobocert configuration:\n%w", err)}
	}
	c, err := dnsrobocert.Read(path, data, os.LookupEnv)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("dnsrobocert configuration:\n%w", err)}
	}
	env := c.Env()
	return func(k string) string {
		if v := os.Getenv(k); strings.TrimSpace(v) != "" {
			return v
		}
		if k == "CERTDOCK_DNSROBOCERT_CONFIG" {
			return path
		}
		if v := os.Getenv("CERTS_PATH"); k == "CERTDOCK_DIR" && v != "" {
			return v // dnsrobocert's certificates folder
		}
		return env[k]
	}, c, nil
}

// printDnsrobocert lists the certificates of dnsrobocert's config.yml for
// `certdock check`, with their profile and actions, and its problems; it
// returns whether there were none, and the certificates.
func printDnsrobocert(ctx context.Context, w io.Writer, cfg *config.Config, set *dnsprofile.Set) (bool, []cert.Spec) {
	if cfg.DnsrobocertConfig == "" {
		return true, nil
	}
	fmt.Fprintf(w, "\nDesired certificates (%s):\n", cfg.DnsrobocertConfig)
	src := app.RouteProfiles(app.DnsrobocertSource(cfg.DnsrobocertConfig, os.LookupEnv, slog.New(slog.DiscardHandler)), set, cfg.LabelPrefix)
	specs, problems, _ := src.Desired(ctx)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, s := range specs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", s.Name, strings.Join(s.Domains, " "), s.Source, actionsText(s.Actions), profileText(s.DNSProfile))
	}
	tw.Flush()
	for _, p := range problems {
		fmt.Fprintf(w, "  ERROR: %v\n", p)
	}
	return len(problems) == 0, specs
}
