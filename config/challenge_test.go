package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseChallenge(t *testing.T) {
	for in, want := range map[string]string{"": ChallengeDNS01, "dns-01": ChallengeDNS01, "DNS-Persist-01": ChallengeDNSPersist01, " dns-persist-01 ": ChallengeDNSPersist01} {
		if got, err := ParseChallenge(in); err != nil || got != want {
			t.Errorf("ParseChallenge(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseChallenge("http-01"); err == nil || !strings.Contains(err.Error(), "dns-persist-01") {
		t.Errorf("ParseChallenge(http-01) error = %v", err)
	}
}

func TestParsePersistUntil(t *testing.T) {
	u, err := parsePersistUntil("365d")
	if err != nil || u.After != 365*24*time.Hour {
		t.Fatalf("365d = %+v, %v", u, err)
	}
	if _, err := parsePersistUntil("2001-01-01"); err == nil || !strings.Contains(err.Error(), "in the past") {
		t.Fatalf("a past date: %v", err)
	}
}
