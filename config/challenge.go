package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/certdock/certdock/dnspersist"
)

// The challenge types (CERTDOCK_CHALLENGE, CERTDOCK_PROFILE_<NAME>_CHALLENGE).
const (
	// ChallengeDNS01 writes an _acme-challenge TXT record through the DNS
	// provider at every issuance (the default).
	ChallengeDNS01 = "dns-01"
	// ChallengeDNSPersist01 validates against a _validation-persist TXT
	// record created once: no DNS provider or credentials are needed.
	ChallengeDNSPersist01 = "dns-persist-01"
)

// ParseChallenge reads a challenge type: dns-01 or dns-persist-01
// (case-insensitive; "" is dns-01).
func ParseChallenge(v string) (string, error) {
	switch c := strings.ToLower(strings.TrimSpace(v)); c {
	case "", ChallengeDNS01:
		return ChallengeDNS01, nil
	case ChallengeDNSPersist01:
		return c, nil
	}
	return "", fmt.Errorf("unknown challenge %q: want %s (a record written at every issuance through DNS_PROVIDER) or %s (a record created once, no DNS credentials needed)", v, ChallengeDNS01, ChallengeDNSPersist01)
}

// parsePersistUntil reads CERTDOCK_PERSIST_UNTIL (see dnspersist.ParseUntil).
func parsePersistUntil(v string) (dnspersist.Until, error) {
	return dnspersist.ParseUntil(v, time.Now())
}

// challengeText describes the challenge setting for Summary.
func challengeText(c *Config) string {
	if c.Challenge != ChallengeDNSPersist01 {
		return ChallengeDNS01
	}
	s := ChallengeDNSPersist01 + " (records created once; no DNS credentials needed"
	if !c.PersistUntil.IsZero() {
		s += "; persistUntil " + c.PersistUntil.String()
	}
	return s + ")"
}
