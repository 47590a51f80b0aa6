package main

import (
	"fmt"
	"strings"
	"testing"
)

// profilesEnv sets two rfc2136 profiles (two TSIG keys, one zone each)
// and a default provider whose TSIG secret differs from both.
func profilesEnv(t *testing.T) {
	t.Helper()
	rfc2136Env(t)
	for name, zone := range map[string]string{"CORP": "corp.test", "LAB": "lab.test"} {
		p := "CERTDOCK_PROFILE_" + name + "_"
		t.Setenv(p+"PROVIDER", "rfc2136")
		t.Setenv(p+"ZONES", zone)
		t.Setenv(p+"DNSUPDATE_NAMESERVER", "127.0.0.1:5353")
		t.Setenv(p+"DNSUPDATE_TSIG_KEY", strings.ToLower(name)+".")
		t.Setenv(p+"DNSUPDATE_TSIG_SECRET", tsigSecret+name)
		t.Setenv(p+"DNSUPDATE_TSIG_ALGORITHM", "hmac-sha256.")
	}
}

func TestCheckProfiles(t *testing.T) {
	dir := cleanEnv(t, "DNSUPDATE_", "RFC2136_")
	profilesEnv(t)
	writeDomains(t, dir, "a.corp.test\nlab.test *.lab.test\nother.test\nx.corp.test x.lab.test\n")
	r := runCmd(t, "check")
	if r.code != 1 {
		t.Errorf("exit code %d, want 1 (one line spans two profiles)", r.code)
	}
	for _, secret := range []string{tsigSecret, tsigSecret + "CORP", tsigSecret + "LAB"} {
		if strings.Contains(r.all(), secret) {
			t.Errorf("a TSIG secret appears in the output")
		}
	}
	for _, want := range []string{
		"\nDNS profiles:\n",
		"  corp: provider rfc2136, zones corp.test (from CERTDOCK_PROFILE_CORP_*)\n    credentials: found\n",
		"  lab: provider rfc2136, zones lab.test (from CERTDOCK_PROFILE_LAB_*)\n    credentials: found\n",
		fmt.Sprintf("    DNSUPDATE_TSIG_SECRET=*** (%d characters)\n", len(tsigSecret)+4),
		"    DNSUPDATE_NAMESERVER=127.0.0.1:5353\n",
		"domains.conf:4: names fall to different DNS profiles (x.corp.test → profile corp (zone corp.test), x.lab.test → profile lab (zone lab.test))",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	lines := desiredLines(t, r.stdout)
	want := map[string]string{"a.corp.test": "corp", "lab.test": "lab", "other.test": ""}
	seen := 0
	for _, f := range lines {
		p, ok := want[f[0]]
		if !ok {
			continue
		}
		seen++
		last := f[len(f)-1]
		if p == "" && strings.Contains(last, "domains.conf:") {
			continue
		}
		if len(f) < 2 || f[len(f)-2] != "profile" || last != p {
			t.Errorf("%s listed as %q, want profile %q", f[0], f, p)
		}
	}
	if seen != 3 {
		t.Errorf("%d of 3 certificates listed", seen)
	}
}

func TestCheckProfileProblems(t *testing.T) {
	t.Run("overlapping zones", func(t *testing.T) {
		dir := cleanEnv(t, "DNSUPDATE_", "RFC2136_")
		profilesEnv(t)
		t.Setenv("CERTDOCK_PROFILE_LAB_ZONES", "lab.test,corp.test")
		writeDomains(t, dir, "a.corp.test\nb.lab.test\n")
		r := runCmd(t, "check")
		if r.code != 1 {
			t.Errorf("exit code %d, want 1", r.code)
		}
		for _, want := range []string{
			"ERROR: zone corp.test is declared by the DNS profiles corp and lab",
			"domains.conf:1: zone corp.test is declared by the DNS profiles corp and lab",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q", want)
			}
		}
		// The other line is still served, by its profile.
		if !strings.Contains(r.stdout, "b.lab.test") || strings.Contains(r.stdout, "domains.conf:2:") {
			t.Error("the good line is not listed")
		}
	})
	t.Run("unknown provider", func(t *testing.T) {
		dir := cleanEnv(t, "DNSUPDATE_", "RFC2136_")
		profilesEnv(t)
		t.Setenv("CERTDOCK_PROFILE_LAB_PROVIDER", "rfc2163")
		writeDomains(t, dir, "a.corp.test\n")
		r := runCmd(t, "check")
		if r.code != 1 || !strings.Contains(r.stdout, `ERROR: CERTDOCK_PROFILE_LAB_PROVIDER: unknown DNS provider "rfc2163" (did you mean rfc2136`) {
			t.Errorf("exit %d; unknown provider not reported naming its variable", r.code)
		}
	})
	t.Run("missing credential stays the profile's", func(t *testing.T) {
		dir := cleanEnv(t, "DNSUPDATE_", "RFC2136_")
		profilesEnv(t)
		// The default provider has a nameserver; the profile must not
		// inherit it.
		t.Setenv("CERTDOCK_PROFILE_LAB_DNSUPDATE_NAMESERVER", "")
		writeDomains(t, dir, "a.corp.test\n")
		r := runCmd(t, "check")
		if r.code != 1 || !strings.Contains(r.stdout, "DNSUPDATE_NAMESERVER") || !strings.Contains(r.stdout, "  lab: provider rfc2136") {
			t.Fatalf("exit %d", r.code)
		}
		_, lab, _ := strings.Cut(r.stdout, "  lab: provider")
		if !strings.Contains(lab, "ERROR:") {
			t.Error("profile lab without a nameserver was built with the default provider's")
		}
	})
	t.Run("malformed variable", func(t *testing.T) {
		dir := cleanEnv(t, "DNSUPDATE_", "RFC2136_")
		profilesEnv(t)
		t.Setenv("CERTDOCK_PROFILE_NEW_ZONES", "new.test")
		writeDomains(t, dir, "a.corp.test\n")
		r := runCmd(t, "check")
		if r.code != 2 || !strings.Contains(r.all(), "CERTDOCK_PROFILE_NEW_PROVIDER: missing") {
			t.Errorf("exit %d; a profile without provider not refused naming the variable", r.code)
		}
	})
}
