package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/go-acme/lego/v5/challenge"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/dnsprofile"
	"github.com/certdock/certdock/issuer"
	"github.com/certdock/certdock/labels"
)

// RouteProfiles wraps a source so that every certificate it defines
// names the DNS profile that solves it: the one its label chose
// (certdock.profile, checked to exist), else the profile whose zone is
// the longest suffix of its names, else the default provider. A
// certificate naming an unknown profile, or whose names fall to two
// profiles, is reported — against its domains.conf line, or its workload
// and label — and left out; the source then counts as incomplete for the
// pass, so nothing it defined is removed because of the mistake.
func RouteProfiles(next controller.Source, set *dnsprofile.Set, labelPrefix string) controller.Source {
	return &profileRouter{next: next, set: set, prefix: labelPrefix}
}

type profileRouter struct {
	next   controller.Source
	set    *dnsprofile.Set
	prefix string
}

// Forced implements controller.Forcer for a source that is one.
func (r *profileRouter) Forced() []string {
	if f, ok := r.next.(controller.Forcer); ok {
		return f.Forced()
	}
	return nil
}

// Desired implements controller.Source.
func (r *profileRouter) Desired(ctx context.Context) ([]cert.Spec, []error, bool) {
	specs, problems, complete := r.next.Desired(ctx)
	out := make([]cert.Spec, 0, len(specs))
	for _, s := range specs {
		if len(s.Domains) == 0 { // a subscription: the definer routes it
			out = append(out, s)
			continue
		}
		var err error
		if s.DNSProfile != "" {
			err = r.set.Check(s.DNSProfile)
		} else {
			s.DNSProfile, err = r.set.Route(s.Domains)
		}
		if err != nil {
			problems = append(problems, r.blame(s, err))
			complete = false
			continue
		}
		out = append(out, s)
	}
	return out, problems, complete
}

// blame names where the faulty certificate was declared.
func (r *profileRouter) blame(s cert.Spec, err error) error {
	switch s.Source.Kind {
	case cert.FromFile:
		return &config.LineError{File: s.Source.File, Line: s.Source.Line, Err: err}
	case cert.FromLabel:
		label := r.prefix + "." + labels.KeyDomains
		if s.DNSProfile != "" {
			label = r.prefix + "." + labels.KeyProfile
		}
		return &labels.Error{Workload: s.Source.Workload, Label: label, Err: err}
	}
	return err
}

// profileIssuers builds each profile's provider from its own variables
// (issuer.BuildProvider) with build, which is the same factory as the
// default provider's. A provider that cannot be built (unknown name,
// missing credential) fails only its profile's certificates.
func profileIssuers(set *dnsprofile.Set, build func(dnsprofile.Profile) (challenge.Provider, error), log *slog.Logger) map[string]issuer.Profile {
	out := map[string]issuer.Profile{}
	for _, p := range set.Profiles() {
		ip := issuer.Profile{ProviderName: p.Provider, DelegatedSubdomain: p.DelegatedSubdomain,
			SleepTime: p.SleepTime, SequenceIntervalSet: p.SequenceIntervalSet()}
		if p.Challenge == config.ChallengeDNSPersist01 {
			ip.Challenge, ip.PersistWriter = issuer.ChallengeDNSPersist01, profilePersistWriter(p, log)
			out[p.Name] = ip
			continue
		}
		if build != nil {
			ip.Provider, ip.ProviderErr = issuer.BuildProvider(p.Provider, p.Vars, func() (challenge.Provider, error) { return build(p) })
		}
		if ip.Provider == nil && ip.ProviderErr == nil {
			ip.ProviderErr = errNoProvider
		}
		if ip.ProviderErr != nil {
			log.Error("DNS profile not usable: its certificates cannot be issued until this is fixed", "profile", p.Name, "provider", p.Provider, "err", ip.ProviderErr)
		}
		out[p.Name] = ip
	}
	return out
}

// errNoProvider fails issuance when no DNS provider factory was given.
var errNoProvider = errors.New("no DNS provider configured")

// profileSet indexes the configured DNS profiles; its problems (a zone
// declared by two profiles) are logged: the certificates they concern
// fail, each naming the problem, and the others are served.
func profileSet(cfg *config.Config, log *slog.Logger) *dnsprofile.Set {
	set, problems := dnsprofile.NewSet(cfg.Profiles)
	for _, p := range problems {
		log.Error("DNS profiles", "err", p)
	}
	return set
}

// profileFactory returns how a profile's provider is built.
func (o Options) profileFactory() func(dnsprofile.Profile) (challenge.Provider, error) {
	if o.ProfileProvider != nil {
		return o.ProfileProvider
	}
	if o.Provider == nil {
		return nil
	}
	return func(p dnsprofile.Profile) (challenge.Provider, error) { return o.Provider(p.Provider) }
}
