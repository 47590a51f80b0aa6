package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pemKinds are the four files of a lineage version, in certbot's naming.
var pemKinds = []string{"cert", "chain", "fullchain", "privkey"}

// checkLineage asserts that dir holds lineage name at version, in
// certbot's layout, for exactly domains, chaining to the roots in
// dir/sandbox-root.pem, and returns the leaf.
func checkLineage(t *testing.T, dir, name string, version int, domains []string) *x509.Certificate {
	t.Helper()
	live := filepath.Join(dir, "live", name)
	archive := filepath.Join(dir, "archive", name)

	fi, err := os.Lstat(live)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o750 {
		t.Errorf("%s: live dir mode %v, want a directory with 0750", name, fi.Mode())
	}

	// Each live file is a relative link to this version in archive/.
	files := map[string][]byte{}
	for _, kind := range pemKinds {
		link := filepath.Join(live, kind+".pem")
		target, err := os.Readlink(link)
		if err != nil {
			t.Fatalf("%s: %s is not a symlink: %v", name, link, err)
		}
		if want := "../../archive/" + name + "/" + kind + strconv.Itoa(version) + ".pem"; target != want {
			t.Errorf("%s: %s -> %s, want -> %s", name, kind, target, want)
		}
		data, err := os.ReadFile(link)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		files[kind] = data
	}
	kfi, err := os.Stat(filepath.Join(archive, "privkey"+strconv.Itoa(version)+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	if kfi.Mode().Perm() != 0o640 {
		t.Errorf("%s: privkey mode %v, want 0640", name, kfi.Mode().Perm())
	}
	if !bytes.Equal(files["fullchain"], append(slices.Clone(files["cert"]), files["chain"]...)) {
		t.Errorf("%s: fullchain.pem is not cert.pem followed by chain.pem", name)
	}

	pair, err := tls.X509KeyPair(files["cert"], files["privkey"])
	if err != nil {
		t.Fatalf("%s: key does not match the certificate: %v", name, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if rest := pair.Certificate[1:]; len(rest) != 0 {
		t.Errorf("%s: cert.pem holds %d extra certificates", name, len(rest))
	}

	roots := x509.NewCertPool()
	rootPEM, err := os.ReadFile(filepath.Join(dir, "sandbox-root.pem"))
	if err != nil || !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("sandbox-root.pem: %v", err)
	}
	inter := x509.NewCertPool()
	if !inter.AppendCertsFromPEM(files["chain"]) {
		t.Fatalf("%s: chain.pem holds no certificate", name)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		t.Errorf("%s: does not verify against sandbox-root.pem: %v", name, err)
	}
	got := slices.Sorted(slices.Values(leaf.DNSNames))
	if want := slices.Sorted(slices.Values(domains)); !slices.Equal(got, want) {
		t.Errorf("%s: SANs %v, want %v", name, got, want)
	}
	if len(leaf.IPAddresses)+len(leaf.EmailAddresses)+len(leaf.URIs) != 0 {
		t.Errorf("%s: unexpected non-DNS SANs", name)
	}
	return leaf
}

// archiveVersions returns the version numbers of the files in
// archive/<name>, per kind, asserting every kind has the same ones.
func archiveVersions(t *testing.T, dir, name string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "archive", name))
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string][]string{}
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".pem")
		if !ok {
			t.Errorf("%s: unexpected archive file %s", name, e.Name())
			continue
		}
		kind := strings.TrimRight(base, "0123456789")
		byKind[kind] = append(byKind[kind], base[len(kind):])
	}
	first := byKind[pemKinds[0]]
	slices.Sort(first)
	for _, kind := range pemKinds {
		v := byKind[kind]
		slices.Sort(v)
		if !slices.Equal(v, first) {
			t.Errorf("%s: archive %s versions %v, cert versions %v", name, kind, v, first)
		}
	}
	if len(byKind) != len(pemKinds) {
		t.Errorf("%s: archive kinds %v", name, byKind)
	}
	return first
}

// sandboxOnce runs `certdock sandbox --once` and asserts success.
func sandboxOnce(t *testing.T) result {
	t.Helper()
	begin := time.Now()
	r := runCmd(t, "sandbox", "--once")
	t.Logf("sandbox --once: exit %d in %v", r.code, time.Since(begin).Round(time.Millisecond))
	if r.code != 0 {
		t.Fatalf("sandbox --once: exit %d, want 0", r.code)
	}
	return r
}

func TestSandboxEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("issues certificates from an in-process CA")
	}
	dir := cleanEnv(t)

	r := sandboxOnce(t)
	if !strings.Contains(r.stdout, "UNTRUSTED") {
		t.Error("stdout does not say the certificates are UNTRUSTED")
	}
	conf, err := os.ReadFile(filepath.Join(dir, "domains.conf"))
	if err != nil || string(conf) != sandboxDomains {
		t.Fatalf("domains.conf: %q, %v; want the seed example", conf, err)
	}
	first := map[string][]byte{}
	for _, c := range seedCerts {
		leaf := checkLineage(t, dir, c.name, 1, c.domains)
		first[c.name] = leaf.Raw
		if v := archiveVersions(t, dir, c.name); !slices.Equal(v, []string{"1"}) {
			t.Errorf("%s: archive versions %v, want [1]", c.name, v)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "live"))
	if err != nil {
		t.Fatal(err)
	}
	var lineages []string
	for _, e := range entries {
		if e.IsDir() {
			lineages = append(lineages, e.Name())
		}
	}
	if len(lineages) != len(seedCerts) {
		t.Errorf("live/ holds lineages %v, want the %d of the seed example", lineages, len(seedCerts))
	}

	t.Run("restart issues nothing", func(t *testing.T) {
		sandboxOnce(t)
		for _, c := range seedCerts {
			if v := archiveVersions(t, dir, c.name); !slices.Equal(v, []string{"1"}) {
				t.Errorf("%s: archive versions %v after a restart, want [1]", c.name, v)
			}
			data, err := os.ReadFile(filepath.Join(dir, "live", c.name, "cert.pem"))
			block, _ := pem.Decode(data)
			if err != nil || block == nil || !bytes.Equal(block.Bytes, first[c.name]) {
				t.Errorf("%s: live cert.pem changed after a restart", c.name)
			}
		}
	})

	t.Run("added domain re-issues one lineage", func(t *testing.T) {
		const oldLine, newLine = "imap.example.com pop.example.com\n", "imap.example.com pop.example.com pop3.example.com\n"
		if !strings.Contains(sandboxDomains, oldLine) {
			t.Fatal("test bug: seed example changed")
		}
		writeDomains(t, dir, strings.Replace(sandboxDomains, oldLine, newLine, 1))
		sandboxOnce(t)
		for _, c := range seedCerts {
			if c.name == "imap.example.com" {
				checkLineage(t, dir, c.name, 2, []string{"imap.example.com", "pop.example.com", "pop3.example.com"})
				if v := archiveVersions(t, dir, c.name); !slices.Equal(v, []string{"1", "2"}) {
					t.Errorf("%s: archive versions %v, want [1 2]", c.name, v)
				}
				continue
			}
			if v := archiveVersions(t, dir, c.name); !slices.Equal(v, []string{"1"}) {
				t.Errorf("%s: archive versions %v, want [1]", c.name, v)
			}
			if target, _ := os.Readlink(filepath.Join(dir, "live", c.name, "cert.pem")); !strings.HasSuffix(target, "/cert1.pem") {
				t.Errorf("%s: live cert.pem -> %s, want version 1", c.name, target)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "live", "pop3.example.com")); err == nil {
			t.Error("a new lineage was made for the added domain")
		}
	})

	t.Run("status", func(t *testing.T) {
		r := runCmd(t, "status")
		if r.code != 0 {
			t.Errorf("status: exit %d, want 0", r.code)
		}
		lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
		if len(lines) != 1+len(seedCerts) || !strings.HasPrefix(lines[0], "NAME ") {
			t.Fatalf("status printed %d lines, want a header and %d rows", len(lines), len(seedCerts))
		}
		rows := map[string][]string{}
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			rows[f[0]] = f
		}
		for _, c := range seedCerts {
			f, ok := rows[c.name]
			if !ok {
				t.Errorf("status lacks %s", c.name)
				continue
			}
			if f[len(f)-1] != "ok" {
				t.Errorf("%s: state %q, want ok", c.name, f[len(f)-1])
			}
		}
	})

	// Status asks the controller's own decision chain: a line whose
	// domains changed is shown as re-issued now, and why.
	t.Run("status after a domains change", func(t *testing.T) {
		path := filepath.Join(dir, "domains.conf")
		conf, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(conf), "ldap.example.com", "ldap.example.com ldaps.example.com", 1)
		if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runCmd(t, "status", "--json")
		var rows []statusRow
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.stdout)
		}
		for _, row := range rows {
			if row.Name != "ldap.example.com" {
				continue
			}
			if row.Reason != "domains changed" || !strings.HasPrefix(row.Next, "re-issue now: domains changed (ldap.example.com → ldap.example.com,ldaps.example.com)") {
				t.Errorf("changed line: reason %q, next %q", row.Reason, row.Next)
			}
			return
		}
		t.Errorf("status lacks ldap.example.com: %s", r.stdout)
	})
}

func TestSandboxLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("issues certificates from an in-process CA")
	}
	dir := cleanEnv(t)
	t.Setenv("CERTDOCK_LOG_LEVEL", "debug")
	t.Setenv("CERTDOCK_LOG_FORMAT", "json")
	r := sandboxOnce(t)

	levels := map[string]int{}
	for i, line := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Level == "" {
			t.Errorf("stderr line %d is not a JSON log record (%v): %q", i+1, err, line)
			continue
		}
		levels[rec.Level]++
	}
	t.Logf("log records by level: %v", levels)
	if levels["DEBUG"] == 0 {
		t.Error("no DEBUG records at CERTDOCK_LOG_LEVEL=debug")
	}
	if strings.Contains(r.stderr, "PRIVATE KEY") || strings.Contains(r.stdout, "PRIVATE KEY") {
		t.Error("the output holds PEM private key material")
	}

	// Every private key written anywhere under the directory (certificate
	// and account keys): neither its base64 body, nor any line of it, nor
	// its DER in hex may be logged.
	keys := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for rest := data; ; {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if !strings.Contains(block.Type, "PRIVATE KEY") {
				continue
			}
			keys++
			b64 := base64.StdEncoding.EncodeToString(block.Bytes)
			needles := []string{b64, hex.EncodeToString(block.Bytes), base64.RawURLEncoding.EncodeToString(block.Bytes)}
			for i := 0; i+64 <= len(b64); i += 64 {
				needles = append(needles, b64[i:i+64])
			}
			for _, n := range needles {
				if strings.Contains(r.stderr, n) || strings.Contains(r.stdout, n) {
					t.Errorf("key material from %s appears in the output", path)
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if keys < len(seedCerts) {
		t.Errorf("found %d private keys under %s, want at least %d", keys, dir, len(seedCerts))
	}
}
