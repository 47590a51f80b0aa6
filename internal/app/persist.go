package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/dnsprofile"
	"github.com/certdock/certdock/issuer"
)

// PersistCert is one certificate's dns-persist-01 records, with what DNS
// answers for each.
type PersistCert struct {
	Spec    cert.Spec
	Records []issuer.PersistRecord
	// Err is set when the records could not be worked out (no account
	// yet, CA unreachable).
	Err error
}

// PersistRecords returns the dns-persist-01 records of every certificate
// of specs solved by dns-persist-01, with what the configured resolvers
// answer for each. It never registers an ACME account: each entry's Err
// is issuer.ErrNoAccount until `certdock run` has.
func PersistRecords(ctx context.Context, iss *issuer.Issuer, specs []cert.Spec) []PersistCert {
	var out []PersistCert
	for _, s := range specs {
		if iss.Challenge(s.DNSProfile) != issuer.ChallengeDNSPersist01 {
			continue
		}
		recs, err := iss.PersistRecords(ctx, s, false)
		out = append(out, PersistCert{Spec: s, Records: recs, Err: err})
	}
	return out
}

// WritePersistReport prints certs as `certdock check` does: under a
// heading, one line per record in zone-file syntax (ready to paste), each
// followed by a zone-file comment saying whether DNS has it; then a
// warning for records that authorize another ACME account. It returns
// how many records are missing or wrong.
func WritePersistReport(w io.Writer, certs []PersistCert) int {
	if len(certs) == 0 {
		return 0
	}
	fmt.Fprintln(w, "\ndns-persist-01 records (create each once, in zone-file syntax; certdock orders once DNS answers them):")
	bad := 0
	seen := map[string]bool{}
	var others []string
	var current string
	for _, c := range certs {
		if c.Err != nil {
			if errors.Is(c.Err, issuer.ErrNoAccount) {
				if !seen["no account"] {
					fmt.Fprintf(w, "  %v\n", c.Err)
				}
				seen["no account"] = true
				continue
			}
			bad++
			fmt.Fprintf(w, "  %s: ERROR: %v\n", c.Spec.Name, c.Err)
			continue
		}
		for _, r := range c.Records {
			line := r.Want.ZoneLine()
			if seen[line] {
				continue
			}
			seen[line] = true
			current = r.Want.AccountURI
			state := "present"
			if pu := r.Verdict.Match.PersistUntil; r.OK() && !pu.IsZero() {
				state = "present, accepted until " + pu.UTC().Format(time.RFC3339) + " (persistUntil)"
			}
			if !r.OK() {
				bad++
				state = "MISSING: " + r.Problem()
				if r.Err == nil && r.Verdict.Problem.String() != "missing" {
					state = "WRONG: " + r.Problem()
				}
			}
			fmt.Fprintf(w, "%s ; %s: %s\n", line, c.Spec.Name, state)
			for _, o := range r.Verdict.Others {
				if !slices.Contains(others, o) {
					others = append(others, o)
				}
			}
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(w, "WARNING: records exist for ACME account(s) %s, not the current account %s: they no longer authorize anything (remove them once the records above exist)\n",
			strings.Join(others, ", "), current)
	}
	return bad
}

// waitingFrom turns the issuer's RecordsError into the controller's
// WaitingError.
func waitingFrom(err error) error {
	var re *issuer.RecordsError
	if errors.As(err, &re) {
		return &controller.WaitingError{Problems: re.Problems(), Records: re.Lines()}
	}
	return err
}

var _ controller.RecordChecker = acmeIssuer{}

// CheckRecords implements controller.RecordChecker: the dns-persist-01
// records checked in DNS before an order.
func (a acmeIssuer) CheckRecords(ctx context.Context, spec cert.Spec) error {
	return waitingFrom(a.iss.CheckRecords(ctx, spec))
}

// persistWriter returns the writer that creates missing dns-persist-01
// records through the DNS provider named explicitly (DNS_PROVIDER or
// LEXICON_PROVIDER), when that provider can (rfc2136); nil otherwise,
// and the user creates them. Its credentials are only used for that.
func persistWriter(cfg *config.Config, log *slog.Logger) issuer.RecordWriter {
	if cfg.ProviderVar == "" {
		return nil
	}
	w, err := issuer.PersistWriter(cfg.Provider, os.Getenv)
	switch {
	case err != nil:
		log.Warn("dns-persist-01: the DNS provider cannot create the records; create them by hand (certdock check prints them)", "provider", cfg.Provider, "err", err)
		return nil
	case w == nil:
		log.Info("dns-persist-01: this DNS provider cannot create the records (only rfc2136 can); create them by hand (certdock check prints them)", "provider", cfg.Provider)
	}
	return w
}

// profilePersistWriter is persistWriter for a DNS profile with
// CERTDOCK_PROFILE_<NAME>_CHALLENGE=dns-persist-01: its provider, if any,
// creates missing records with the profile's own variables.
func profilePersistWriter(p dnsprofile.Profile, log *slog.Logger) issuer.RecordWriter {
	if p.Provider == "" {
		return nil
	}
	w, err := issuer.PersistWriter(p.Provider, func(k string) string { return p.Vars[k] })
	switch {
	case err != nil:
		log.Warn("dns-persist-01: the profile's DNS provider cannot create the records; create them by hand (certdock check prints them)", "profile", p.Name, "provider", p.Provider, "err", err)
		return nil
	case w == nil:
		log.Info("dns-persist-01: the profile's DNS provider cannot create the records (only rfc2136 can); create them by hand (certdock check prints them)", "profile", p.Name, "provider", p.Provider)
	}
	return w
}
