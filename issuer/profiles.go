package issuer

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-acme/lego/v5/challenge"
)

// Profile is one DNS profile as the issuer uses it: its own provider,
// built from its own variables (see BuildProvider), and its own
// propagation and delegation settings.
type Profile struct {
	// Provider solves the profile's DNS-01 challenges; ProviderErr, when
	// set, fails every certificate of the profile (as Config.ProviderErr).
	Provider    challenge.Provider
	ProviderErr error
	// ProviderName is the lego provider name, recorded in renewal files.
	ProviderName string
	// DelegatedSubdomain is the profile's DELEGATED_SUBDOMAIN; empty: no
	// delegation check.
	DelegatedSubdomain string
	// SleepTime is a fixed wait before the first propagation check.
	SleepTime time.Duration
	// SequenceIntervalSet keeps lego's pause between authorizations of a
	// sequential provider (the profile set its *_SEQUENCE_INTERVAL).
	SequenceIntervalSet bool
	// Challenge is ChallengeDNS01 ("" too) or ChallengeDNSPersist01, which
	// needs no Provider; PersistWriter then creates missing records (nil:
	// the user does).
	Challenge     string
	PersistWriter RecordWriter
}

// dnsSetup is how one certifier solves DNS-01: the default provider's
// settings (profile "") or a profile's.
type dnsSetup struct {
	profile      string
	provider     challenge.Provider
	providerErr  error
	providerName string
	sleep        time.Duration
	delegateTo   string // fully qualified CNAME target; "" when none
	sequenceSet  func() bool
}

// newDNSSetups returns the default provider's setup ("") and every
// profile's; a profile's DelegatedSubdomain that is not a domain name is
// an error naming the profile.
func newDNSSetups(cfg Config, delegateTo string) (map[string]dnsSetup, error) {
	getenv := cfg.Getenv
	out := map[string]dnsSetup{"": {
		provider: cfg.Provider, providerErr: cfg.ProviderErr, providerName: cfg.ProviderName,
		sleep: cfg.SleepTime, delegateTo: delegateTo,
		sequenceSet: func() bool { return envSequenceSet(getenv) },
	}}
	for _, name := range slices.Sorted(maps.Keys(cfg.Profiles)) {
		p := cfg.Profiles[name]
		if name == "" {
			return nil, fmt.Errorf("issuer: a DNS profile has no name")
		}
		to, err := delegationTarget(p.DelegatedSubdomain)
		if err != nil {
			return nil, fmt.Errorf("issuer: DNS profile %s: %w", name, err)
		}
		set := p.SequenceIntervalSet
		out[name] = dnsSetup{
			profile: name, provider: p.Provider, providerErr: p.ProviderErr, providerName: p.ProviderName,
			sleep: p.SleepTime, delegateTo: to,
			sequenceSet: func() bool { return set },
		}
	}
	return out, nil
}

// dnsFor returns the setup of the DNS profile called name ("" for the
// default provider). An unknown profile, or a provider that could not be
// built, is a configuration error naming the profile.
func (i *Issuer) dnsFor(name string) (dnsSetup, error) {
	ds, ok := i.dns[name]
	if !ok {
		known := slices.Sorted(maps.Keys(i.dns))[1:]
		return dnsSetup{}, fmt.Errorf("unknown DNS profile %q (known: %s)", name, orNone(strings.Join(known, ", ")))
	}
	if ds.providerErr != nil {
		if name == "" {
			return ds, fmt.Errorf("DNS provider %q: %w", ds.providerName, ds.providerErr)
		}
		return ds, fmt.Errorf("DNS profile %s (provider %q): %w", name, ds.providerName, ds.providerErr)
	}
	if ds.provider == nil {
		return ds, fmt.Errorf("DNS provider %q: not configured", ds.providerName)
	}
	return ds, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
