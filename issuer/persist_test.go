package issuer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/acme"

	"github.com/certdock/certdock/dnspersist"
)

func TestPersistSolverNamesTheSettingWhenTheCAOffersNoPersist(t *testing.T) {
	i, err := New(Config{DirectoryURL: "https://ca.example/dir", AccountsDir: t.TempDir(), Challenge: ChallengeDNSPersist01})
	if err != nil {
		t.Fatal(err)
	}
	s := &persistSolver{iss: i}
	err = s.Solve(context.Background(), []acme.Authorization{{
		Identifier: acme.Identifier{Type: "dns", Value: "a.example.com"},
		Challenges: []acme.Challenge{{Type: "dns-01"}, {Type: "http-01"}},
	}})
	var ie *Error
	if !errors.As(err, &ie) || ie.Kind != KindConfig {
		t.Fatalf("Solve = %v, want a configuration error", err)
	}
	for _, want := range []string{"does not offer dns-persist-01 for a.example.com", "CERTDOCK_CHALLENGE", "[dns-01 http-01]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestRecordsErrorSaysWhatAndWhere(t *testing.T) {
	w := dnspersist.Want{Name: "a.example.com", Issuer: "ca.example", AccountURI: "https://ca.example/acct/1"}
	e := &RecordsError{Name: "a.example.com", Records: []PersistRecord{{Want: w, Verdict: dnspersist.Judge(w, nil, time.Time{})}}}
	want := `waiting for DNS record: _validation-persist.a.example.com has no dns-persist-01 record for ca.example; create: _validation-persist.a.example.com. IN TXT "ca.example; accounturi=https://ca.example/acct/1"`
	if e.Error() != want {
		t.Errorf("Error() = %s\nwant      %s", e.Error(), want)
	}
	if !e.Permanent() {
		t.Error("a missing record is not worth retrying at the CA")
	}
}

func TestSavedAccountURL(t *testing.T) {
	dir := t.TempDir()
	i, err := New(Config{DirectoryURL: "https://ca.example/dir", AccountsDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := i.SavedAccountURL(); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("no account: %v", err)
	}
	adir, _ := accountDir(dir, "https://ca.example/dir")
	if err := os.MkdirAll(adir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(adir, "account.json"), []byte(`{"id":"1","location":"https://ca.example/acct/1","server":"https://ca.example/dir"}`), 0o600)
	if u, err := i.SavedAccountURL(); err != nil || u != "https://ca.example/acct/1" {
		t.Fatalf("SavedAccountURL = %q, %v", u, err)
	}
}

func TestPersistWriter(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if w, err := PersistWriter("cloudflare", env(nil)); w != nil || err != nil {
		t.Errorf("cloudflare: %v, %v; want no writer", w, err)
	}
	if _, err := PersistWriter("rfc2136", env(nil)); err == nil || !strings.Contains(err.Error(), "DNSUPDATE_NAMESERVER") {
		t.Errorf("rfc2136 without a nameserver: %v", err)
	}
	key := filepath.Join(t.TempDir(), "tsig.key")
	os.WriteFile(key, []byte("key \"certdock-tsig\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n"), 0o600)
	w, err := PersistWriter("dnsupdate", env(map[string]string{"RFC2136_NAMESERVER": "127.0.0.1", "DNSUPDATE_TSIG_FILE": key, "DNSUPDATE_ZONES": "example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	rw := w.(*rfc2136Writer)
	if rw.nameserver != "127.0.0.1:53" || rw.keyName != "certdock-tsig." || rw.algorithm != "hmac-sha256." || rw.secret != "c2VjcmV0" {
		t.Errorf("writer = %+v", rw)
	}
	if z, err := rw.zone(context.Background(), "_validation-persist.a.example.com."); err != nil || z != "example.com." {
		t.Errorf("zone = %q, %v", z, err)
	}
	if _, err := rw.zone(context.Background(), "_validation-persist.a.example.org."); err == nil {
		t.Error("a name outside DNSUPDATE_ZONES got a zone")
	}
}
