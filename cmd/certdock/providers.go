package main

//go:generate go run ./internal/genproviders

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/providers/dns"

	"github.com/certdock/certdock/internal/suggest"
)

// newProvider builds the lego DNS provider called name. An unknown name is
// refused with the closest valid names; missing credentials come back as
// lego's error, which names the variables to set.
func newProvider(name, fromVar string) (challenge.Provider, error) {
	if !slices.Contains(providerNames, name) {
		if fromVar == "" {
			fromVar = "DNS_PROVIDER"
		}
		msg := fmt.Sprintf("%s: unknown DNS provider %q", fromVar, name)
		if near := suggest.Closest(name, providerNames, 3); len(near) > 0 {
			msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(near, ", "))
		}
		return nil, fmt.Errorf("%s; see https://go-acme.github.io/lego/dns/ for the list", msg)
	}
	p, err := dns.NewDNSChallengeProviderByName(name)
	if err != nil {
		// The value is a typed nil on error: never use it.
		return nil, err
	}
	return p, nil
}

// secretish reports whether an environment variable probably holds a
// secret; its value is then masked in every output.
func secretish(key string) bool {
	k := strings.ToUpper(key)
	for _, safe := range []string{"_NAMESERVER", "_ZONE", "_ZONES", "_TTL", "_TIMEOUT", "_INTERVAL", "_EMAIL", "_ALGORITHM", "_ENDPOINT", "_REGION", "_BASE_URL", "_SERVER", "_HOST", "_PORT"} {
		if strings.HasSuffix(k, safe) {
			return false
		}
	}
	return true
}

// providerEnv returns the environment variables that configure provider
// name, masked, for `certdock check`.
func providerEnv(name string) [][2]string {
	prefixes := []string{strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_"}
	if name == "rfc2136" {
		prefixes = append(prefixes, "DNSUPDATE_")
	}
	var out [][2]string
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				if secretish(k) && !strings.HasSuffix(k, "_FILE") {
					v = mask(v)
				}
				out = append(out, [2]string{k, v})
			}
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}

func mask(v string) string {
	if v == "" {
		return ""
	}
	return fmt.Sprintf("*** (%d characters)", len(v))
}
