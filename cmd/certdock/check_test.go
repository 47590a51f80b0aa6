package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// seedCerts are the certificates of sandboxDomains (the seed README's
// example), in file order: lineage name, domains, line.
var seedCerts = []struct {
	name    string
	domains []string
	line    int
}{
	{"smtp.example.com", []string{"smtp.example.com"}, 2},
	{"imap.example.com", []string{"imap.example.com", "pop.example.com"}, 3},
	{"ldap.example.com", []string{"ldap.example.com"}, 4},
	{"example.com", []string{"*.example.com", "example.com"}, 5},
}

// tsigSecret is base64 and distinctive, so finding it in any output is
// certainly a leak.
const tsigSecret = "Q2VydGRvY2tUc2lnU2VjcmV0LVp6cTdXeDQ4S3Y="

// rfc2136Env configures lego's RFC 2136 provider completely.
func rfc2136Env(t *testing.T) {
	t.Helper()
	t.Setenv("DNS_PROVIDER", "rfc2136")
	t.Setenv("DNSUPDATE_NAMESERVER", "127.0.0.1:5353")
	t.Setenv("DNSUPDATE_TSIG_KEY", "k.")
	t.Setenv("DNSUPDATE_TSIG_SECRET", tsigSecret)
	t.Setenv("DNSUPDATE_TSIG_ALGORITHM", "hmac-sha256.")
}

// desiredLines returns the lines of check's "Desired certificates"
// section, split into fields.
func desiredLines(t *testing.T, stdout string) [][]string {
	t.Helper()
	_, section, ok := strings.Cut(stdout, "\nDesired certificates (")
	if !ok {
		t.Fatal("no \"Desired certificates\" section")
	}
	var out [][]string
	for i, line := range strings.Split(section, "\n") {
		if i == 0 {
			continue // the header's "path):" rest
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			break
		}
		out = append(out, f)
	}
	return out
}

// checkListsSeed asserts that check listed every seed certificate with its
// domains and source line, in file order.
func checkListsSeed(t *testing.T, stdout, file string) {
	t.Helper()
	var names []string
	lines := desiredLines(t, stdout)
	for _, f := range lines {
		if f[0] != "ERROR:" {
			names = append(names, f[0])
		}
	}
	var want []string
	for _, c := range seedCerts {
		want = append(want, c.name)
	}
	if !slices.Equal(names, want) {
		t.Errorf("certificates listed %v, want %v", names, want)
	}
	for _, c := range seedCerts {
		wantFields := append([]string{c.name}, c.domains...)
		wantFields = append(wantFields, fmt.Sprintf("%s:%d", file, c.line))
		found := false
		for _, f := range lines {
			if slices.Equal(f, wantFields) {
				found = true
			}
		}
		if !found {
			t.Errorf("no line with fields %q", wantFields)
		}
	}
}

func TestCheck(t *testing.T) {
	const badLine = "bad..example.com imap.example.com"
	tests := []struct {
		name     string
		content  string // domains.conf
		wantCode int
		// badLine is the line number of the one bad line, or 0.
		badLine int
	}{
		{name: "seed example", content: sandboxDomains, wantCode: 0},
		{name: "seed example and a bad line", content: sandboxDomains + badLine + "\n", wantCode: 1, badLine: 6},
		{name: "bad first line", content: badLine + sandboxDomains[strings.Index(sandboxDomains, "\n"):], wantCode: 1, badLine: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := cleanEnv(t, "DNSUPDATE_", "RFC2136_")
			rfc2136Env(t)
			file := writeDomains(t, dir, tt.content)
			r := runCmd(t, "check")

			if r.code != tt.wantCode {
				t.Errorf("exit code %d, want %d", r.code, tt.wantCode)
			}
			if strings.Contains(r.all(), tsigSecret) {
				t.Error("the TSIG secret appears in the output")
			}
			for _, want := range []string{
				"DNS provider: rfc2136 (from DNS_PROVIDER)",
				"credentials: found",
				"DNSUPDATE_NAMESERVER=127.0.0.1:5353\n",
				"DNSUPDATE_TSIG_ALGORITHM=hmac-sha256.\n",
				fmt.Sprintf("DNSUPDATE_TSIG_SECRET=*** (%d characters)\n", len(tsigSecret)),
			} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q", want)
				}
			}
			checkListsSeed(t, r.stdout, file)

			errs := 0
			for line := range strings.Lines(r.stdout) {
				if strings.Contains(line, "ERROR:") {
					errs++
				}
			}
			if tt.badLine == 0 {
				if errs != 0 {
					t.Errorf("%d ERROR lines, want none", errs)
				}
				if !strings.Contains(r.stdout, "\nconfiguration OK\n") {
					t.Error("no \"configuration OK\"")
				}
				return
			}
			if errs != 1 {
				t.Errorf("%d ERROR lines, want 1", errs)
			}
			wantErr := fmt.Sprintf("  ERROR: %s:%d: ", file, tt.badLine)
			if !strings.Contains(r.stdout, wantErr) || !strings.Contains(r.stdout, "bad..example.com") {
				t.Errorf("stdout lacks an error starting %q naming bad..example.com", wantErr)
			}
			if !filepath.IsAbs(file) {
				t.Fatalf("test bug: %s is not absolute", file)
			}
			if strings.Contains(r.stdout, "configuration OK") {
				t.Error("\"configuration OK\" despite a bad line")
			}
		})
	}
}

func TestCheckMissingCredentials(t *testing.T) {
	tests := []struct {
		name     string
		provider string
		prefixes []string // variables blanked
		wantVar  string   // the variable lego's message names
	}{
		{name: "cloudflare", provider: "cloudflare", prefixes: []string{"CLOUDFLARE_", "CF_"}, wantVar: "CLOUDFLARE_DNS_API_TOKEN"},
		{name: "default provider is cloudflare", provider: "", prefixes: []string{"CLOUDFLARE_", "CF_"}, wantVar: "CLOUDFLARE_DNS_API_TOKEN"},
		{name: "rfc2136", provider: "rfc2136", prefixes: []string{"DNSUPDATE_", "RFC2136_"}, wantVar: "DNSUPDATE_NAMESERVER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := cleanEnv(t, tt.prefixes...)
			t.Setenv("DNS_PROVIDER", tt.provider)
			writeDomains(t, dir, sandboxDomains)
			r := runCmd(t, "check")
			if r.code == 0 {
				t.Error("exit code 0 with no credentials")
			}
			var errLine string
			for line := range strings.Lines(r.stdout) {
				if strings.HasPrefix(line, "  ERROR:") {
					errLine = line
					break
				}
			}
			if !strings.Contains(errLine, tt.wantVar) {
				t.Errorf("error %q does not name %s", errLine, tt.wantVar)
			}
			if strings.Contains(r.stdout, "credentials: found") || strings.Contains(r.stdout, "configuration OK") {
				t.Error("check claims the configuration is fine")
			}
		})
	}
}
