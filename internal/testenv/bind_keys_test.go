package testenv

import (
	"strings"
	"testing"
)

// TestBindZoneKeys proves that each zone key updates its own zone and is
// refused in the other, while the shared key still works everywhere.
func TestBindZoneKeys(t *testing.T) {
	b := StartBindZoneKeys(t, "a.test", "b.test")
	if err := b.UpdateTXT("a.test", "_acme-challenge.x.a.test", "mine"); err != nil {
		t.Fatalf("key of a.test in a.test: %v", err)
	}
	if got := b.TXT(t, "_acme-challenge.x.a.test."); len(got) != 1 || got[0] != "mine" {
		t.Fatalf("TXT = %v", got)
	}
	err := b.UpdateTXT("a.test", "_acme-challenge.x.b.test", "theirs")
	if err == nil || !strings.Contains(err.Error(), "REFUSED") && !strings.Contains(err.Error(), "NOTAUTH") {
		t.Fatalf("key of a.test in b.test: %v, want refused", err)
	}
	if got := b.TXT(t, "_acme-challenge.x.b.test."); len(got) != 0 {
		t.Fatalf("refused update written: %v", got)
	}
	if err := b.UpdateTXT("b.test", "_acme-challenge.x.b.test", "theirs"); err != nil {
		t.Fatalf("key of b.test in b.test: %v", err)
	}
	b.AddCNAME(t, "_acme-challenge.y.b.test", "_acme-challenge.x.a.test")
	env := b.ZoneEnv(t, "b.test")
	if env["DNSUPDATE_TSIG_KEY"] != "certdock-zone-b.test." || env["DNSUPDATE_TSIG_SECRET"] != b.ZoneKeys["b.test"].Secret || env["DNSUPDATE_ZONES"] != "b.test" {
		t.Fatalf("ZoneEnv = %v", env)
	}
}
