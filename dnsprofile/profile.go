package dnsprofile

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Profile is one DNS provider account: the lego provider it uses, its own
// lego variables, and the zones it serves.
type Profile struct {
	// Name is the profile's name, lower case ("internal"); it is what the
	// certdock.profile label and dnsrobocert's certificates name.
	Name string
	// Provider is the lego DNS provider name ("rfc2136", "cloudflare").
	Provider string
	// Zones are the DNS zones this profile serves, normalised (lower
	// case, no trailing dot). A certificate's names fall to the profile
	// with the longest zone that is a suffix of them.
	Zones []string
	// Vars are the provider's lego variables (e.g. DNSUPDATE_TSIG_SECRET,
	// CLOUDFLARE_DNS_API_TOKEN_FILE), with their values. They hold
	// secrets: print them only through Masked.
	Vars map[string]string
	// Origin says where the profile was declared, for messages:
	// "CERTDOCK_PROFILE_INTERNAL_*" or "config.yml:12".
	Origin string
	// DelegatedSubdomain, when set, is where this profile's
	// _acme-challenge names must be delegated by CNAME (as
	// DELEGATED_SUBDOMAIN is for the default provider).
	DelegatedSubdomain string
	// SleepTime is a fixed wait before the first propagation check of
	// this profile's records (as LEXICON_SLEEP_TIME); zero means none.
	SleepTime time.Duration
	// Challenge is how the profile's certificates are validated:
	// "dns-01" (or "") through Provider, or "dns-persist-01" against
	// records created once (Provider then only creates missing ones, and
	// may be empty).
	Challenge string
}

// Masked returns the profile's variables sorted by name, with the values
// of secrets replaced by a mask that only tells their length. Paths given
// by *_FILE variables are shown as they are.
func (p Profile) Masked() [][2]string {
	out := make([][2]string, 0, len(p.Vars))
	for k, v := range p.Vars {
		if Secret(k) {
			v = Mask(v)
		}
		out = append(out, [2]string{k, v})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}

// SequenceIntervalSet reports whether the profile sets its provider's
// *_SEQUENCE_INTERVAL, the only case where certdock keeps lego's pause
// between the authorizations of a sequential provider.
func (p Profile) SequenceIntervalSet() bool {
	for k, v := range p.Vars {
		if strings.HasSuffix(k, "_SEQUENCE_INTERVAL") && strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// publicSuffixes end the names of variables that hold no secret (an
// address, a zone, a duration); every other provider variable is masked.
var publicSuffixes = []string{"_FILE", "_NAMESERVER", "_ZONE", "_ZONES", "_TTL", "_TIMEOUT", "_INTERVAL",
	"_EMAIL", "_ALGORITHM", "_ENDPOINT", "_REGION", "_BASE_URL", "_SERVER", "_HOST", "_PORT"}

// Secret reports whether a provider variable probably holds a secret:
// every name is, except those ending in a suffix known to hold an
// address, a zone, a duration or a file path.
func Secret(name string) bool {
	k := strings.ToUpper(name)
	for _, s := range publicSuffixes {
		if strings.HasSuffix(k, s) {
			return false
		}
	}
	return true
}

// Mask hides a secret value, telling only its length.
func Mask(v string) string {
	if v == "" {
		return ""
	}
	return fmt.Sprintf("*** (%d characters)", len(v))
}
