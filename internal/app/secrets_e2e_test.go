package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certdock/certdock/internal/testenv"
)

// keyFile is a file under CERTDOCK_DIR that holds private key material.
type keyFile struct {
	mode fs.FileMode
	data []byte
}

// keyFiles lists, by path relative to dir, the regular files under dir
// that hold a private key: PEM files with a PRIVATE KEY block (lineage
// keys in archive/, the ACME account key under accounts/) and PKCS#12
// bundles (PFX_EXPORT). Symbolic links (live/) are skipped: they point
// into archive/.
func keyFiles(t *testing.T, dir string) map[string]keyFile {
	t.Helper()
	out := map[string]keyFile{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !strings.Contains(string(data), "PRIVATE KEY-----") && filepath.Ext(p) != ".pfx" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[rel] = keyFile{mode: info.Mode().Perm(), data: data}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// keyFragments returns pieces of a PEM private key that would give it away
// in a log: the last 40 characters (the random part, not the ASN.1 header
// every key shares) of three of its 64-character base64 lines — the first,
// one in the middle and the last full one — and the hex form of its last
// 20 bytes.
func keyFragments(t *testing.T, data []byte) []string {
	t.Helper()
	var frags []string
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if !strings.Contains(blk.Type, "PRIVATE KEY") {
			continue
		}
		body := base64.StdEncoding.EncodeToString(blk.Bytes)
		var lines []string
		for i := 0; i+64 <= len(body); i += 64 {
			lines = append(lines, body[i:i+64])
		}
		if len(lines) < 2 {
			t.Fatalf("private key block of %d bytes is too short to check", len(blk.Bytes))
		}
		for _, l := range []string{lines[0], lines[len(lines)/2], lines[len(lines)-1]} {
			frags = append(frags, l[len(l)-40:])
		}
		frags = append(frags, hex.EncodeToString(blk.Bytes[len(blk.Bytes)-20:]))
	}
	if len(frags) == 0 {
		t.Fatal("no private key block found")
	}
	return frags
}

// TestNoSecretInDebugLogs runs every feature that handles a secret — a
// TSIG-signed DNS provider, external account binding, PFX export with a
// passphrase, a deploy hook, a forced renewal, the revocation of a removed
// line, then a second run with CERTS_FILES_MODE=0600 — with every log line
// kept at debug level. It then checks that no secret and no piece of a
// private key appears in the logs, that no secret is written to disk in
// the clear, and that no file holding a private key is readable by others
// (or, with CERTS_FILES_MODE, has any other mode than the one configured).
func TestNoSecretInDebugLogs(t *testing.T) {
	macKey := make([]byte, 32)
	if _, err := rand.Read(macKey); err != nil {
		t.Fatal(err)
	}
	hmac := base64.RawURLEncoding.EncodeToString(macKey)
	w := newWorldWith(t, &testenv.PebbleOptions{EABKeys: map[string]string{"kid-secrets": hmac}}, "example.com")
	const passphrase = "pfx-Passphrase-7f3c9e1a44"
	hookLog := filepath.Join(t.TempDir(), "hook.log")
	w.env["CERTDOCK_LOG_LEVEL"] = "debug"
	w.env["ACME_EAB_KID"] = "kid-secrets"
	w.env["ACME_EAB_HMAC"] = hmac
	w.env["PFX_EXPORT"] = "true"
	w.env["PFX_EXPORT_PASSPHRASE"] = passphrase
	w.env["DEPLOY_HOOK"] = `echo "deployed $RENEWED_DOMAINS"; echo "$RENEWED_LINEAGE" >> ` + hookLog
	w.writeDomains(t, "secret.example.com\n*.wild.example.com wild.example.com\nrevoke.example.com\n")
	ctx := context.Background()
	a := w.build(t)

	res := a.Controller.RunOnce(ctx)
	if err := res.Err(); err != nil || len(res.Issued) != 3 {
		t.Fatalf("first pass: issued %v, err %v", res.Issued, err)
	}
	res = a.Controller.Renew(ctx, []string{"secret.example.com"}, true)
	if len(res.Issued) != 1 || version(a, "secret.example.com") != 2 {
		t.Fatalf("forced renewal: %+v, version %d", res, version(a, "secret.example.com"))
	}
	if hook, _ := os.ReadFile(hookLog); strings.Count(string(hook), "\n") != 4 {
		t.Errorf("deploy hook ran %d times, want 4 (3 issuances, 1 renewal):\n%s", strings.Count(string(hook), "\n"), hook)
	}

	// The keys of the lineage about to be removed are checked too.
	removed, err := a.Store.Load("revoke.example.com")
	if err != nil {
		t.Fatal(err)
	}
	before := keyFiles(t, w.dir)
	w.writeDomains(t, "secret.example.com\n*.wild.example.com wild.example.com\n")
	if err := a.Controller.RunOnce(ctx).Err(); err != nil {
		t.Fatalf("pass after removing a line: %v", err)
	}
	if st := certStatus(t, w.pebble, removed.Leaf); st != "Revoked" {
		t.Errorf("removed certificate status at the CA: %s, want Revoked", st)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "archive", "revoke.example.com")); !os.IsNotExist(err) {
		t.Errorf("archive of the removed lineage still there: %v", err)
	}

	// With default modes, no key file is readable by others: lineage
	// keys and PFX bundles are 0640, the account key 0600.
	kinds := map[string]int{}
	for rel, f := range before {
		switch {
		case strings.HasPrefix(rel, "accounts"+string(filepath.Separator)):
			kinds["account"]++
			if f.mode != 0o600 {
				t.Errorf("%s: mode %v, want 0600", rel, f.mode)
			}
		case strings.HasPrefix(rel, "archive"+string(filepath.Separator)):
			kinds[filepath.Ext(rel)]++
			if f.mode&0o007 != 0 {
				t.Errorf("%s: mode %v is readable by others (default CERTS_FILES_MODE)", rel, f.mode)
			}
		default:
			t.Errorf("%s holds private key material outside archive/ and accounts/ (mode %v)", rel, f.mode)
		}
	}
	// 4 versions in all (3 lineages, one renewed), each a PEM key and a
	// PFX bundle, and one account.
	if kinds["account"] != 1 || kinds[".pem"] != 4 || kinds[".pfx"] != 4 {
		t.Errorf("key files found: %v, want 1 account, 4 .pem and 4 .pfx", kinds)
	}

	// With CERTS_FILES_MODE=0600, every key file written is exactly 0600.
	w.env["CERTS_FILES_MODE"] = "0600"
	a = w.build(t)
	res = a.Controller.Renew(ctx, []string{"secret.example.com", "wild.example.com"}, true)
	if len(res.Issued) != 2 {
		t.Fatalf("forced renewal with CERTS_FILES_MODE=0600: %+v", res)
	}
	after := keyFiles(t, w.dir)
	var written []string
	for rel, f := range after {
		if f.mode&0o007 != 0 {
			t.Errorf("%s: mode %v is readable by others", rel, f.mode)
		}
		if _, old := before[rel]; old {
			continue
		}
		written = append(written, rel)
		if f.mode != 0o600 {
			t.Errorf("%s: mode %v, want 0600 (CERTS_FILES_MODE)", rel, f.mode)
		}
	}
	if len(written) != 4 {
		t.Errorf("key files written with CERTS_FILES_MODE=0600: %v, want 2 .pem and 2 .pfx", written)
	}
	for _, name := range []string{"secret.example.com", "wild.example.com"} {
		for _, f := range []string{"privkey.pem", "cert.pfx"} {
			if st, err := os.Stat(filepath.Join(w.dir, "live", name, f)); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("live/%s/%s: %v, want mode 0600", name, f, st)
			}
		}
	}

	// The logs hold the whole story at debug level...
	logs := w.logs.String()
	for _, s := range []string{`"level":"DEBUG"`, "registered ACME account", "revoked", "deploy hook done"} {
		if !strings.Contains(logs, s) {
			t.Errorf("logs lack %q: the run did not log what this test expects to scan", s)
		}
	}
	// ...and no secret, in any of the encodings it could be printed in.
	if len(w.bind.KeySecret) < 16 {
		t.Fatalf("TSIG secret of %d characters: too short to search for", len(w.bind.KeySecret))
	}
	secrets := map[string]string{
		"TSIG secret (DNSUPDATE_TSIG_SECRET)":    w.bind.KeySecret,
		"TSIG secret without its padding":        strings.TrimRight(w.bind.KeySecret, "="),
		"EAB MAC key (ACME_EAB_HMAC)":            hmac,
		"EAB MAC key in padded base64url":        base64.URLEncoding.EncodeToString(macKey),
		"EAB MAC key in standard base64":         base64.StdEncoding.EncodeToString(macKey),
		"EAB MAC key in hex":                     hex.EncodeToString(macKey),
		"PFX passphrase (PFX_EXPORT_PASSPHRASE)": passphrase,
	}
	for what, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the logs contain the %s", what)
		}
	}
	if strings.Contains(logs, "PRIVATE KEY") {
		t.Error("the logs contain a PEM private key marker")
	}
	keys := 0
	for _, files := range []map[string]keyFile{before, after} {
		for rel, f := range files {
			if filepath.Ext(rel) != ".pem" {
				continue
			}
			keys++
			for _, frag := range keyFragments(t, f.data) {
				if strings.Contains(logs, frag) {
					t.Errorf("the logs contain a piece of the private key in %s: %q", rel, frag)
				}
			}
		}
	}
	if keys < 6 {
		t.Errorf("checked %d private keys, want at least 6", keys)
	}

	// No secret given in the environment is written to disk in the clear
	// either (state.json, renewal/*.conf, accounts/).
	err = filepath.WalkDir(w.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for what, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("%s contains the %s", p, what)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
