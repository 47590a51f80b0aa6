package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/dnsprofile"
)

// ProfilePrefix starts the variables of native DNS profiles:
// CERTDOCK_PROFILE_<NAME>_PROVIDER, CERTDOCK_PROFILE_<NAME>_ZONES and the
// provider's lego variables as CERTDOCK_PROFILE_<NAME>_<LEGO VARIABLE>.
const ProfilePrefix = "CERTDOCK_PROFILE_"

// The settings of a profile that are certdock's, not the provider's.
const (
	profileProvider  = "PROVIDER"
	profileZones     = "ZONES"
	profileDelegated = "DELEGATED_SUBDOMAIN"
	profileSleep     = "SLEEP_TIME"
	profileChallenge = "CHALLENGE"
)

// ReadProfiles reads the native DNS profiles from environ (os.Environ()
// in production). A profile's name is the part between
// CERTDOCK_PROFILE_ and the next underscore (letters, digits and '-',
// case-insensitive: it is lower-cased). Its variables are PROVIDER (a
// lego provider name, required), ZONES (comma-separated zones),
// DELEGATED_SUBDOMAIN and SLEEP_TIME (as DELEGATED_SUBDOMAIN and
// LEXICON_SLEEP_TIME are for the default provider), and any other suffix
// is one of the provider's lego variables (DNSUPDATE_TSIG_SECRET,
// CLOUDFLARE_DNS_API_TOKEN_FILE, …), handed to the provider only. Empty
// values count as unset. Every problem is an *EnvError naming its
// variable; a profile with a problem is left out, the others are
// returned, sorted by name.
func ReadProfiles(environ []string) ([]dnsprofile.Profile, []error) {
	byName := map[string]*dnsprofile.Profile{}
	bad := map[string]bool{}
	var errs []error
	fail := func(name, k string, err error) {
		errs = append(errs, &EnvError{Var: k, Err: err})
		bad[name] = true
	}
	vars := slices.Clone(environ)
	slices.Sort(vars)
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(k, ProfilePrefix)
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		raw, setting, ok := strings.Cut(rest, "_")
		name := strings.ToLower(raw)
		if !ok || setting == "" || !validProfileName(name) {
			errs = append(errs, &EnvError{Var: k, Err: errors.New("not a profile variable: use CERTDOCK_PROFILE_<NAME>_PROVIDER, _ZONES or _<LEGO VARIABLE>, NAME being letters, digits and '-'")})
			continue
		}
		p := byName[name]
		if p == nil {
			p = &dnsprofile.Profile{Name: name, Vars: map[string]string{}, Origin: ProfilePrefix + raw + "_*"}
			byName[name] = p
		}
		v = strings.TrimSpace(v)
		switch setting {
		case profileProvider:
			prov, err := parseProvider(v)
			if err != nil {
				fail(name, k, err)
			}
			p.Provider = prov
		case profileZones:
			zones, err := parseZones(v)
			if err != nil {
				fail(name, k, err)
			}
			p.Zones = zones
		case profileDelegated:
			d, err := cert.NormalizeDomain(v)
			if err != nil || strings.HasPrefix(d, "*.") {
				fail(name, k, fmt.Errorf("%q is not a domain name (e.g. acme.delegated.net)", v))
			}
			p.DelegatedSubdomain = d
		case profileChallenge:
			ch, err := ParseChallenge(v)
			if err != nil {
				fail(name, k, err)
			}
			p.Challenge = ch
		case profileSleep:
			d, err := parseSleep(v)
			if err != nil {
				fail(name, k, err)
			}
			p.SleepTime = d
		default:
			p.Vars[setting] = v
		}
	}
	var out []dnsprofile.Profile
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		p := byName[name]
		if p.Provider == "" && p.Challenge != ChallengeDNSPersist01 {
			fail(name, strings.TrimSuffix(p.Origin, "*")+profileProvider, fmt.Errorf("missing: profile %q needs a lego DNS provider name (its other variables are set)", name))
		}
		if !bad[name] {
			out = append(out, *p)
		}
	}
	return out, errs
}

func validProfileName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// parseZones reads a comma (or space) separated list of zones, each
// normalised; wildcards are refused and duplicates dropped.
func parseZones(v string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		z, err := cert.NormalizeDomain(f)
		if err != nil {
			return nil, fmt.Errorf("zone %q: %w", f, err)
		}
		if strings.HasPrefix(z, "*") {
			return nil, fmt.Errorf("zone %q: a zone is a domain name, not a wildcard", f)
		}
		if !slices.Contains(out, z) {
			out = append(out, z)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no zone given (e.g. example.com,example.org)")
	}
	return out, nil
}
