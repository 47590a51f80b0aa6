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

func TestChallengeFromEnv(t *testing.T) {
	c, err := FromEnv(envOf(map[string]string{"CERTDOCK_CHALLENGE": "dns-persist-01", "CERTDOCK_PERSIST_UNTIL": "365d"}))
	if err != nil || c.Challenge != ChallengeDNSPersist01 || c.PersistUntil.After != 365*24*time.Hour {
		t.Fatalf("FromEnv = %+v, %v", c, err)
	}
	if got := challengeText(c); got != "dns-persist-01 (records created once; no DNS credentials needed; persistUntil 365d)" {
		t.Errorf("summary %q", got)
	}
	for k, v := range map[string]string{"CERTDOCK_CHALLENGE": "http-01", "CERTDOCK_PERSIST_UNTIL": "2001-01-01"} {
		if _, err := FromEnv(envOf(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: error %v does not name the variable", k, v, err)
		}
	}
}

func TestProfileChallenge(t *testing.T) {
	ps, errs := ReadProfiles([]string{"CERTDOCK_PROFILE_KEPT_CHALLENGE=dns-persist-01", "CERTDOCK_PROFILE_KEPT_ZONES=example.org"})
	if len(errs) > 0 || len(ps) != 1 || ps[0].Challenge != ChallengeDNSPersist01 || ps[0].Provider != "" {
		t.Fatalf("a dns-persist-01 profile without provider: %+v, %v", ps, errs)
	}
	_, errs = ReadProfiles([]string{"CERTDOCK_PROFILE_X_CHALLENGE=dns-99", "CERTDOCK_PROFILE_X_PROVIDER=rfc2136", "CERTDOCK_PROFILE_X_ZONES=example.net"})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "CERTDOCK_PROFILE_X_CHALLENGE") {
		t.Errorf("bad challenge: %v", errs)
	}
	_, errs = ReadProfiles([]string{"CERTDOCK_PROFILE_Y_ZONES=example.net"})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "PROVIDER") {
		t.Errorf("a dns-01 profile without provider: %v", errs)
	}
}
