package issuer

import (
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/go-acme/lego/v5/challenge"
)

// buildMu serialises BuildProvider: the process environment is changed
// only while one provider is being built, never by two builds at once.
var buildMu sync.Mutex

// BuildProvider builds a DNS provider (with build, e.g. lego's
// NewDNSChallengeProviderByName) from its own lego variables instead of
// the process environment's: lego's providers read their settings from
// the environment when they are built. Under a lock, it removes every
// variable of the provider's namespaces from the environment (the
// provider's prefix, e.g. DNSUPDATE_ and RFC2136_ for rfc2136, and the
// first word of each variable given, e.g. AWS_), sets vars, calls build,
// and puts the environment back as it was. So two accounts of one
// provider never mix credentials: what the profile does not set is unset
// for it, not inherited from the default provider. Call it before any
// other goroutine reads those variables (certdock builds every provider
// at start-up).
func BuildProvider(provider string, vars map[string]string, build func() (challenge.Provider, error)) (challenge.Provider, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	prefixes := providerNamespaces(provider, vars)
	saved := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		_, set := vars[k]
		if set || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			saved[k] = v
			os.Unsetenv(k)
		}
	}
	defer func() {
		for k := range vars {
			os.Unsetenv(k)
		}
		for k, v := range saved {
			os.Setenv(k, v)
		}
	}()
	for k, v := range vars {
		os.Setenv(k, v)
	}
	p, err := build()
	if err != nil {
		// lego returns a typed nil with its error: never hand it on.
		return nil, err
	}
	return p, nil
}

// providerNamespaces lists the variable prefixes that belong to a
// provider: its own (providerEnvPrefix), lego v5's and v4's names for
// rfc2136, and the first word of each variable given. certdock's own
// variables and lego's global LEGO_* settings are never touched.
func providerNamespaces(provider string, vars map[string]string) []string {
	out := []string{providerEnvPrefix(provider)}
	if provider == "rfc2136" || provider == "dnsupdate" {
		out = append(out, "DNSUPDATE_", "RFC2136_")
	}
	for k := range vars {
		if word, _, ok := strings.Cut(k, "_"); ok && len(word) >= 2 {
			out = append(out, word+"_")
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	return slices.DeleteFunc(out, func(p string) bool {
		return p == "CERTDOCK_" || p == "LEGO_" || p == "LEXICON_" || p == "DNS_" || p == "ACME_"
	})
}
