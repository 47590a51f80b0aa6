package dnsprofile

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Default is how messages name the default provider (DNS_PROVIDER /
// LEXICON_PROVIDER), which serves every name no profile's zone covers.
const Default = "default"

// Set is the configured profiles, indexed by name and by zone. A nil Set
// has no profiles: every certificate uses the default provider.
type Set struct {
	byName map[string]Profile
	// owners maps each zone to the profiles that declare it; more than
	// one is a configuration error, reported by NewSet and for every
	// certificate whose names fall into that zone.
	owners map[string][]string
}

// NewSet indexes profiles. Problems — a name used twice, the reserved
// name "default", a zone declared by two profiles — are returned, each
// naming the profiles' origins; the set is still usable: a duplicate name
// keeps its first declaration, and a zone declared twice routes nothing
// (every certificate whose names fall into it is an error).
func NewSet(profiles []Profile) (*Set, []error) {
	s := &Set{byName: map[string]Profile{}, owners: map[string][]string{}}
	var problems []error
	for _, p := range profiles {
		if p.Name == Default {
			problems = append(problems, fmt.Errorf("%s: the profile name %q is reserved for the default provider (DNS_PROVIDER)", p.Origin, Default))
			continue
		}
		if prev, dup := s.byName[p.Name]; dup {
			problems = append(problems, fmt.Errorf("%s: profile %q is already declared by %s", p.Origin, p.Name, prev.Origin))
			continue
		}
		s.byName[p.Name] = p
		for _, z := range p.Zones {
			if !slices.Contains(s.owners[z], p.Name) {
				s.owners[z] = append(s.owners[z], p.Name)
			}
		}
	}
	for _, z := range slices.Sorted(maps.Keys(s.owners)) {
		if owners := s.owners[z]; len(owners) > 1 {
			problems = append(problems, &OverlapError{Zone: z, Profiles: owners})
		}
	}
	return s, problems
}

// OverlapError is a zone declared by more than one profile.
type OverlapError struct {
	Zone     string
	Profiles []string
}

// Error names the zone and the profiles that declare it.
func (e *OverlapError) Error() string {
	return fmt.Sprintf("zone %s is declared by the DNS profiles %s: a zone belongs to one profile (give a longer zone, e.g. sub.%s, to one of them)",
		e.Zone, strings.Join(e.Profiles, " and "), e.Zone)
}

// Len is the number of profiles.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byName)
}

// Get returns the profile called name.
func (s *Set) Get(name string) (Profile, bool) {
	if s == nil {
		return Profile{}, false
	}
	p, ok := s.byName[name]
	return p, ok
}

// Names lists the profiles' names, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(s.byName))
}

// Profiles lists the profiles, sorted by name.
func (s *Set) Profiles() []Profile {
	var out []Profile
	for _, n := range s.Names() {
		out = append(out, s.byName[n])
	}
	return out
}

// ErrUnknown means a certificate names a profile that is not configured.
var ErrUnknown = errors.New("unknown DNS profile")

// Check returns nil when name is a configured profile (or empty: the
// default), else an error wrapping ErrUnknown that lists the known ones.
func (s *Set) Check(name string) error {
	if name == "" {
		return nil
	}
	if _, ok := s.Get(name); ok {
		return nil
	}
	known := "none is configured: set CERTDOCK_PROFILE_<NAME>_PROVIDER"
	if n := s.Names(); len(n) > 0 {
		known = "known: " + strings.Join(n, ", ")
	}
	return fmt.Errorf("%w %q (%s)", ErrUnknown, name, known)
}

// Route returns the profile that serves domains: for each name, the
// profile whose zone is the longest suffix of it (a wildcard counts as its
// base name); "" when no zone covers any of them (the default provider).
// Every name must fall to the same profile, else the error lists where
// each one falls. A name whose zone is declared by two profiles is an
// error too.
func (s *Set) Route(domains []string) (string, error) {
	if s.Len() == 0 || len(domains) == 0 {
		return "", nil
	}
	type fall struct{ domain, profile, zone string }
	falls := make([]fall, 0, len(domains))
	for _, d := range domains {
		zone, owners := s.zoneOf(strings.TrimPrefix(d, "*."))
		if len(owners) > 1 {
			return "", &OverlapError{Zone: zone, Profiles: owners}
		}
		f := fall{domain: d, zone: zone}
		if len(owners) == 1 {
			f.profile = owners[0]
		}
		falls = append(falls, f)
	}
	for _, f := range falls[1:] {
		if f.profile != falls[0].profile {
			parts := make([]string, len(falls))
			for i, f := range falls {
				parts[i] = f.domain + " → " + describe(f.profile, f.zone)
			}
			return "", fmt.Errorf("names fall to different DNS profiles (%s): put them in separate certificates", strings.Join(parts, ", "))
		}
	}
	return falls[0].profile, nil
}

// describe names where a domain falls, e.g. `profile a (zone example.com)`.
func describe(profile, zone string) string {
	if profile == "" {
		return "the default provider"
	}
	return fmt.Sprintf("profile %s (zone %s)", profile, zone)
}

// zoneOf finds the longest declared zone that is name or a parent of it,
// and the profiles that declare it.
func (s *Set) zoneOf(name string) (string, []string) {
	for d := name; d != ""; {
		if owners, ok := s.owners[d]; ok {
			return d, owners
		}
		_, rest, ok := strings.Cut(d, ".")
		if !ok {
			break
		}
		d = rest
	}
	return "", nil
}
