package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/go-acme/lego/v5/challenge"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/dnsprofile"
	"github.com/certdock/certdock/dnsrobocert"
	"github.com/certdock/certdock/issuer"
)

// withProfiles reads the native DNS profiles (CERTDOCK_PROFILE_*) and
// those of dnsrobocert's config.yml (robo, may be nil) into cfg; a
// malformed profile variable is a usage error naming it, like any other
// invalid variable.
func withProfiles(cfg *config.Config, robo *dnsrobocert.Config) error {
	profiles, errs := config.ReadProfiles(os.Environ())
	if robo != nil {
		rp, rerrs := robo.DNSProfiles()
		profiles, errs = append(profiles, rp...), append(errs, rerrs...)
	}
	if err := errors.Join(errs...); err != nil {
		return usageError{fmt.Errorf("configuration:\n%w", err)}
	}
	cfg.Profiles = profiles
	return nil
}

// profileProvider builds a profile's lego provider; an unknown name is
// refused naming the profile's PROVIDER variable. It runs inside
// issuer.BuildProvider, with the profile's own variables in the
// environment.
func profileProvider(p dnsprofile.Profile) (challenge.Provider, error) {
	return newProvider(p.Provider, profileProviderVar(p))
}

// profileProviderVar is the variable (or config.yml place) that names the
// profile's provider, for messages.
func profileProviderVar(p dnsprofile.Profile) string {
	if v, ok := strings.CutSuffix(p.Origin, "*"); ok {
		return v + "PROVIDER"
	}
	return p.Origin
}

// printProfiles lists the DNS profiles for `certdock check`: provider,
// zones, whether the provider can be built from the profile's own
// variables, and those variables with secrets masked. It returns the set
// (to route the desired certificates) and whether everything is fine.
func printProfiles(w io.Writer, cfg *config.Config) (*dnsprofile.Set, bool) {
	set, problems := dnsprofile.NewSet(cfg.Profiles)
	if set.Len() == 0 && len(problems) == 0 {
		return set, true
	}
	ok := len(problems) == 0
	fmt.Fprintln(w, "\nDNS profiles:")
	for _, p := range set.Profiles() {
		zones := "(none: only certificates that name it with a certdock.profile label)"
		if len(p.Zones) > 0 {
			zones = strings.Join(p.Zones, ", ")
		}
		fmt.Fprintf(w, "  %s: provider %s, zones %s (from %s)\n", p.Name, p.Provider, zones, p.Origin)
		if p.DelegatedSubdomain != "" {
			fmt.Fprintf(w, "    delegated subdomain: %s\n", p.DelegatedSubdomain)
		}
		if p.SleepTime > 0 {
			fmt.Fprintf(w, "    sleep time: %s\n", p.SleepTime)
		}
		persist := p.Challenge == config.ChallengeDNSPersist01
		if persist {
			fmt.Fprintln(w, "    challenge: dns-persist-01 (records created once, see below; a provider, if any, only creates missing ones, and only rfc2136 can)")
		}
		switch _, err := issuer.BuildProvider(p.Provider, p.Vars, func() (challenge.Provider, error) { return profileProvider(p) }); {
		case persist && p.Provider == "":
		case err != nil:
			ok = ok && persist // with dns-persist-01 the provider is optional
			fmt.Fprintf(w, "    ERROR: %v\n", err)
		default:
			fmt.Fprintln(w, "    credentials: found")
		}
		for _, kv := range p.Masked() {
			fmt.Fprintf(w, "    %s=%s\n", kv[0], kv[1])
		}
	}
	for _, p := range problems {
		fmt.Fprintf(w, "  ERROR: %v\n", p)
	}
	return set, ok
}

// profileText is the profile column of a desired certificate in check.
func profileText(name string) string {
	if name == "" {
		return ""
	}
	return "profile " + name
}

// defaultNeeded reports whether the default DNS provider is needed by the
// certificates check listed: always without profiles; with profiles, when
// one of them falls to no profile. Otherwise it says that the broken
// default provider only matters to certificates defined by labels.
func defaultNeeded(w io.Writer, set *dnsprofile.Set, specs []cert.Spec) bool {
	if set.Len() == 0 || slices.ContainsFunc(specs, func(s cert.Spec) bool { return len(s.Domains) > 0 && s.DNSProfile == "" }) {
		return true
	}
	fmt.Fprintln(w, "\nNote: the default DNS provider is not usable, but every certificate listed uses a DNS profile; a label certificate outside the profiles' zones would fail.")
	return false
}
