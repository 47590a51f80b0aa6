package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckDnsrobocert(t *testing.T) {
	dir := cleanEnv(t, "DNSUPDATE_", "RFC2136_")
	rfc2136Env(t)
	t.Setenv("CONFIG_PATH", "")
	t.Setenv("ROBO_TOKEN", tsigSecret)
	file := filepath.Join(dir, "config.yml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`acme:
  email_account: robo@example.com
  certs_permissions:
    files_mode: 0600
profiles:
- name: cf
  provider: cloudflare
  provider_options:
    auth_token: ${ROBO_TOKEN}
certificates:
- domains: [web.example.com, www.example.com]
  profile: cf
  autorestart:
  - containers: [nginx]
`)
	t.Setenv("CERTDOCK_DNSROBOCERT_CONFIG", file)
	r := runCmd(t, "check")
	if r.code != 0 {
		t.Errorf("exit code %d, want 0", r.code)
	}
	if strings.Contains(r.all(), tsigSecret) {
		t.Error("the token appears in the output")
	}
	for _, want := range []string{
		"email                robo@example.com",
		"files mode           0600",
		"dnsrobocert config   " + file,
		"  cf: provider cloudflare, zones (none: only certificates that name it with a certdock.profile label) (from " + file + ":6)",
		"CLOUDFLARE_DNS_API_TOKEN=*** (",
		"\nDesired certificates (" + file + "):\n",
		"restart nginx",
		"profile cf",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}

	// An invalid file stops certdock at start naming the file and line.
	write("certificates:\n- domains: [a.example.com]\n  profil: cf\n")
	r = runCmd(t, "check")
	if r.code != 2 || !strings.Contains(r.all(), file+":3: certificates[0].profil: unknown key") {
		t.Errorf("exit %d; invalid config.yml not reported with file and line", r.code)
	}
	// The environment wins over the acme section.
	write("acme:\n  email_account: robo@example.com\n")
	t.Setenv("LETSENCRYPT_USER_MAIL", "env@example.com")
	r = runCmd(t, "check")
	if !strings.Contains(r.stdout, "email                env@example.com") {
		t.Error("the environment did not win over config.yml's acme section")
	}
}

// TestCheckDnsrobocertWithoutDefaultProvider: a migrant from dnsrobocert
// has no default provider; check passes while every certificate uses a
// profile, and fails once one does not.
func TestCheckDnsrobocertWithoutDefaultProvider(t *testing.T) {
	dir := cleanEnv(t, "DNSUPDATE_", "RFC2136_", "CLOUDFLARE_")
	t.Setenv("CONFIG_PATH", "")
	file := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(file, []byte("profiles:\n- {name: cf, provider: cloudflare, provider_options: {auth_token: x}}\ncertificates:\n- {domains: [a.example.com], profile: cf}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CERTDOCK_DNSROBOCERT_CONFIG", file)
	r := runCmd(t, "check")
	if r.code != 0 || !strings.Contains(r.stdout, "Note: the default DNS provider is not usable, but every certificate listed uses a DNS profile") {
		t.Errorf("exit %d; want 0 with a note", r.code)
	}
	writeDomains(t, dir, "b.example.com\n")
	r = runCmd(t, "check")
	if r.code != 1 || strings.Contains(r.stdout, "Note: the default") {
		t.Errorf("exit %d with a domains.conf line on the unusable default provider; want 1", r.code)
	}
}
