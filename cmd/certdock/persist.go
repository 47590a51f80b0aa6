package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/dnsprofile"
	"github.com/certdock/certdock/internal/app"
)

// usesPersist reports whether any certificate may be validated with
// dns-persist-01: by CERTDOCK_CHALLENGE or a DNS profile's _CHALLENGE.
func usesPersist(cfg *config.Config) bool {
	if cfg.Challenge == config.ChallengeDNSPersist01 {
		return true
	}
	for _, p := range cfg.Profiles {
		if p.Challenge == config.ChallengeDNSPersist01 {
			return true
		}
	}
	return false
}

// printPersistRecords prints, for `certdock check`, the dns-persist-01
// records the certificates of domains.conf need, in zone-file syntax, with what
// DNS answers for each (app.WritePersistReport). It contacts the CA's
// directory (for its issuer domain name) but never registers an account.
// Missing records do not fail the check: `certdock run` waits for them.
func printPersistRecords(ctx context.Context, w io.Writer, cfg *config.Config) {
	if !usesPersist(cfg) {
		return
	}
	a, err := app.Build(cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		fmt.Fprintf(w, "\ndns-persist-01 records: ERROR: %v\n", err)
		return
	}
	log := slog.New(slog.DiscardHandler)
	set, _ := dnsprofile.NewSet(cfg.Profiles) // problems are reported by the profile section
	specs, _, _ := app.RouteProfiles(app.DomainsSource(cfg.DomainsFile(), cfg.Cluster == config.ClusterSwarm, log), set, cfg.LabelPrefix).Desired(ctx)
	app.WritePersistReport(w, app.PersistRecords(ctx, a.Issuer, specs))
}
