package app_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/certdock/certdock/internal/testenv"
)

// environ turns a variable map into os.Environ's form.
func environ(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// TestProfilesEndToEnd: two accounts of one provider at once. bind9 has
// three zones, each with a TSIG key that may update it only; the default
// provider (the process environment) holds other.test's key, and two
// rfc2136 profiles hold corp.test's and lab.test's. Each certificate is
// issued by real Pebble through the profile its zone falls to — which can
// only succeed if each profile signs with its own key, never the
// default's nor the other profile's.
func TestProfilesEndToEnd(t *testing.T) {
	bind := testenv.StartBindZoneKeys(t, "corp.test", "lab.test", "other.test")
	pebble := testenv.StartPebble(t, bind.Addr, nil)
	for k, v := range bind.ZoneEnv(t, "other.test") {
		t.Setenv(k, v)
	}
	w := &world{bind: bind, pebble: pebble, dir: t.TempDir(), logs: &testenv.LogBuffer{}}
	w.env = map[string]string{
		"CERTDOCK_DIR":         w.dir,
		"ACME_DIRECTORY_URL":   pebble.DirectoryURL,
		"ACME_CA_CERTIFICATES": pebble.TLSCAFile,
		"DNS_PROVIDER":         "rfc2136",
		"DNS_RESOLVERS":        bind.Addr,
	}
	profile := func(name, zone, keyZone string) {
		w.env["CERTDOCK_PROFILE_"+name+"_PROVIDER"] = "rfc2136"
		w.env["CERTDOCK_PROFILE_"+name+"_ZONES"] = zone
		for k, v := range bind.ZoneEnv(t, keyZone) {
			w.env["CERTDOCK_PROFILE_"+name+"_"+k] = v
		}
	}
	profile("CORP", "corp.test", "corp.test")
	profile("LAB", "lab.test", "lab.test")
	w.writeDomains(t, "a.corp.test www.corp.test\n*.lab.test lab.test\nx.other.test\nspan.corp.test span.lab.test\n")
	ctx := context.Background()

	res := w.build(t).Controller.RunOnce(ctx)
	if !slices.Equal(res.Issued, []string{"a.corp.test", "lab.test", "x.other.test"}) || len(res.Failed) != 0 {
		t.Fatalf("issued %v, failed %v; want a.corp.test, lab.test, x.other.test", res.Issued, res.Failed)
	}
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Error(), "domains.conf:4: names fall to different DNS profiles") {
		t.Fatalf("problems %v; want the line spanning corp and lab", res.Problems)
	}
	roots := w.pebble.Roots(t)
	checkLineage(t, w.dir, "a.corp.test", []string{"a.corp.test", "www.corp.test"}, roots, 1)
	checkLineage(t, w.dir, "lab.test", []string{"*.lab.test", "lab.test"}, roots, 1)
	checkLineage(t, w.dir, "x.other.test", []string{"x.other.test"}, roots, 1)
	for _, fqdn := range []string{"_acme-challenge.a.corp.test.", "_acme-challenge.lab.test.", "_acme-challenge.x.other.test."} {
		if txt := bind.TXT(t, fqdn); len(txt) != 0 {
			t.Errorf("challenge record left at %s: %v", fqdn, txt)
		}
	}
	logs := w.logs.String()
	for zone, k := range bind.ZoneKeys {
		if strings.Contains(logs, k.Secret) {
			t.Errorf("the TSIG secret of %s appears in the logs", zone)
		}
	}

	// The control: a profile holding another zone's key is refused by
	// bind, so the successes above did depend on each profile's own key.
	profile("LAB", "lab.test", "corp.test")
	w.env["CERTDOCK_PROFILE_LAB_DNSUPDATE_ZONES"] = "lab.test"
	res = w.build(t).Controller.Renew(ctx, []string{"lab.test", "a.corp.test"}, true)
	if !slices.Equal(res.Issued, []string{"a.corp.test"}) || res.Failed["lab.test"] == nil {
		t.Fatalf("with lab holding corp's key: issued %v, failed %v; want a.corp.test issued, lab.test failed", res.Issued, res.Failed)
	}
	if msg := res.Failed["lab.test"].Error(); !strings.Contains(msg, "REFUSED") && !strings.Contains(msg, "NOTAUTH") {
		t.Errorf("lab.test failed with %q, want bind's refusal", msg)
	}
	checkLineage(t, w.dir, "a.corp.test", []string{"a.corp.test", "www.corp.test"}, roots, 2)

	// Overlapping zones: the lines of the zone both profiles declare are
	// errors naming it; the others are still served.
	profile("LAB", "lab.test,corp.test", "lab.test")
	res = w.build(t).Controller.RunOnce(ctx)
	var text []string
	for _, p := range res.Problems {
		text = append(text, p.Error())
	}
	all := strings.Join(text, "\n")
	if !strings.Contains(all, "domains.conf:1: zone corp.test is declared by the DNS profiles corp and lab") || len(res.Failed) != 0 {
		t.Fatalf("problems:\n%s\nfailed %v", all, res.Failed)
	}
	if !slices.Contains(res.Unchanged, "lab.test") || !slices.Contains(res.Unchanged, "x.other.test") {
		t.Errorf("unchanged %v; want lab.test and x.other.test still served", res.Unchanged)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "live", "a.corp.test", "fullchain.pem")); err != nil {
		t.Errorf("a.corp.test removed while its line is in error: %v", err)
	}
}
