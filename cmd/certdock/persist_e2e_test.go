package main

import (
	"strings"
	"testing"

	"github.com/certdock/certdock/internal/testenv"
)

// TestPersistCommands drives the binary's commands as an operator would
// with CERTDOCK_CHALLENGE=dns-persist-01 and no DNS provider: check before
// the account exists, run --once (registers it, waits for the records,
// exit 1), check (prints them), status (waiting for DNS record), nsupdate
// of the printed lines, renew (issued).
func TestPersistCommands(t *testing.T) {
	dir := cleanEnv(t, "DNSUPDATE_", "RFC2136_", "CLOUDFLARE_")
	bind := testenv.StartBind(t, "example.com")
	pebble := testenv.StartPebble(t, bind.Addr, nil)
	t.Setenv("ACME_DIRECTORY_URL", pebble.DirectoryURL)
	t.Setenv("ACME_CA_CERTIFICATES", pebble.TLSCAFile)
	t.Setenv("DNS_RESOLVERS", bind.Addr)
	t.Setenv("CERTDOCK_CHALLENGE", "dns-persist-01")
	writeDomains(t, dir, "a.example.com\n*.example.com example.com\n")

	r := runCmd(t, "check")
	if r.code != 0 || !strings.Contains(r.stdout, "DNS provider: none needed") || !strings.Contains(r.stdout, "`certdock run` registers it") {
		t.Fatalf("check before the account: exit %d\n%s", r.code, r.stdout)
	}
	if r = runCmd(t, "run", "--once"); r.code != 1 || !strings.Contains(r.all(), "waiting for DNS record") {
		t.Fatalf("run --once without records: exit %d", r.code)
	}
	r = runCmd(t, "check")
	var lines []string
	for l := range strings.Lines(r.stdout) {
		if strings.HasPrefix(l, "_validation-persist.") {
			rec, _, _ := strings.Cut(l, " ; ")
			lines = append(lines, rec)
		}
	}
	if r.code != 0 || len(lines) != 2 || !strings.Contains(r.stdout, "dns-persist-01 records (create each once") ||
		!strings.HasPrefix(lines[1], `_validation-persist.example.com. IN TXT "pebble.letsencrypt.org; accounturi=https://`) ||
		!strings.HasSuffix(lines[1], `; policy=wildcard"`) {
		t.Fatalf("check after run: exit %d, lines %q\n%s", r.code, lines, r.stdout)
	}
	if r = runCmd(t, "status"); !strings.Contains(r.stdout, "waiting for DNS record") {
		t.Fatalf("status does not say the certificate waits for its record:\n%s", r.stdout)
	}
	bind.NSUpdate(t, lines...)
	if r = runCmd(t, "renew", "a.example.com", "example.com"); r.code != 0 || !strings.Contains(r.stdout, "renewed example.com") {
		t.Fatalf("renew after the records: exit %d\n%s", r.code, r.all())
	}
	if r = runCmd(t, "check"); strings.Contains(r.stdout, "MISSING") || strings.Count(r.stdout, ": present") != 2 {
		t.Fatalf("check after the records:\n%s", r.stdout)
	}
}
