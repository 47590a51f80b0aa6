package issuer

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
	jose "github.com/go-jose/go-jose/v4"
)

// writeCertbotAccount writes an account as certbot does under
// accounts/<netloc>/<path>/<id>/ and returns its key.
func writeCertbotAccount(t *testing.T, accounts, netlocPath, id, uri string) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(accounts, filepath.FromSlash(netlocPath), id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	jwk, err := jose.JSONWebKey{Key: key}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "private_key.json"), jwk, 0o400); err != nil {
		t.Fatal(err)
	}
	regr, _ := json.Marshal(map[string]any{"body": map[string]any{"status": "valid"}, "uri": uri})
	if err := os.WriteFile(filepath.Join(dir, "regr.json"), regr, 0o644); err != nil {
		t.Fatal(err)
	}
	meta := `{"creation_dt": "2024-01-01T00:00:00Z", "creation_host": "test", "register_to_eff": null}`
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	return key
}

// newOfflineIssuer returns an issuer for a CA that does not answer: any
// network use fails.
func newOfflineIssuer(t *testing.T, accounts string) (*Issuer, *testenv.LogBuffer) {
	t.Helper()
	logs := &testenv.LogBuffer{}
	i, err := New(Config{
		DirectoryURL: "https://127.0.0.1:1/dir",
		AccountsDir:  accounts,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return i, logs
}

func TestLoadOrRegisterUsesCertbotAccount(t *testing.T) {
	accounts := t.TempDir()
	const uri = "https://127.0.0.1:1/my-account/42"
	key := writeCertbotAccount(t, accounts, "127.0.0.1:1/dir", "0123456789abcdef0123456789abcdef", uri)

	i, logs := newOfflineIssuer(t, accounts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	acct, err := i.loadOrRegister(ctx)
	if err != nil {
		t.Fatalf("loadOrRegister: %v\nlogs:\n%s", err, logs)
	}
	if acct.Location != uri {
		t.Errorf("Location = %q, want %q", acct.Location, uri)
	}
	if !key.Public().(*rsa.PublicKey).Equal(acct.key.Public()) {
		t.Error("account key is not certbot's")
	}
	if !strings.Contains(logs.String(), "using certbot's ACME account") {
		t.Errorf("no log about certbot's account:\n%s", logs)
	}
	if strings.Contains(logs.String(), "registered ACME account") {
		t.Errorf("registered an account:\n%s", logs)
	}

	// Copied into certdock's own files.
	own := filepath.Join(accounts, "127.0.0.1_1", "dir", "certdock")
	data, err := os.ReadFile(filepath.Join(own, "account.json"))
	if err != nil {
		t.Fatal(err)
	}
	var saved account
	if err := json.Unmarshal(data, &saved); err != nil {
		t.Fatal(err)
	}
	if saved.Location != uri || saved.Server != "https://127.0.0.1:1/dir" || saved.ID == "" {
		t.Errorf("account.json = %s", data)
	}
	st, err := os.Stat(filepath.Join(own, "private_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("private_key.pem mode %v, want 0600", st.Mode().Perm())
	}

	// A later start does not need certbot's files any more.
	if err := os.RemoveAll(filepath.Join(accounts, "127.0.0.1:1")); err != nil {
		t.Fatal(err)
	}
	i2, logs2 := newOfflineIssuer(t, accounts)
	acct2, err := i2.loadOrRegister(ctx)
	if err != nil {
		t.Fatalf("second loadOrRegister: %v\nlogs:\n%s", err, logs2)
	}
	if acct2.Location != uri || !key.Public().(*rsa.PublicKey).Equal(acct2.key.Public()) {
		t.Errorf("second start: account %q, key changed?", acct2.Location)
	}
	if strings.Contains(logs2.String(), "certbot") {
		t.Errorf("second start looked at certbot again:\n%s", logs2)
	}
}

func TestCertbotAccountSeveralTakesNewest(t *testing.T) {
	accounts := t.TempDir()
	writeCertbotAccount(t, accounts, "127.0.0.1:1/dir", "old", "https://127.0.0.1:1/acct/old")
	newKey := writeCertbotAccount(t, accounts, "127.0.0.1:1/dir", "new", "https://127.0.0.1:1/acct/new")
	past := time.Now().Add(-time.Hour)
	for _, f := range []string{"private_key.json", "regr.json", "meta.json"} {
		if err := os.Chtimes(filepath.Join(accounts, "127.0.0.1:1", "dir", "old", f), past, past); err != nil {
			t.Fatal(err)
		}
	}
	i, logs := newOfflineIssuer(t, accounts)
	acct, err := i.loadOrRegister(context.Background())
	if err != nil {
		t.Fatalf("loadOrRegister: %v\nlogs:\n%s", err, logs)
	}
	if acct.Location != "https://127.0.0.1:1/acct/new" || !newKey.Public().(*rsa.PublicKey).Equal(acct.key.Public()) {
		t.Errorf("took %q, want the newest account", acct.Location)
	}
	if !strings.Contains(logs.String(), "several certbot ACME accounts") || !strings.Contains(logs.String(), "new") {
		t.Errorf("no log naming the chosen account:\n%s", logs)
	}
}

func TestCertbotAccountUnreadable(t *testing.T) {
	accounts := t.TempDir()
	dir := filepath.Join(accounts, "127.0.0.1:1", "dir", "broken")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "private_key.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	i, logs := newOfflineIssuer(t, accounts)
	if a := i.certbotAccount(); a != nil {
		t.Fatalf("certbotAccount = %+v, want nil", a)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "unreadable") {
		t.Errorf("no warning:\n%s", logs)
	}
	// Falling back to a registration, which fails here (no CA), with a
	// fresh key of certdock's own.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := i.loadOrRegister(ctx); err == nil {
		t.Fatal("loadOrRegister succeeded without a CA")
	}
	if _, err := readKey(filepath.Join(accounts, "127.0.0.1_1", "dir", "certdock", "private_key.pem")); err != nil {
		t.Errorf("no key of certdock's own: %v", err)
	}
}

func TestCertbotAccountsDir(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://acme-v02.api.letsencrypt.org/directory", "acme-v02.api.letsencrypt.org/directory"},
		{"https://127.0.0.1:14000/dir", "127.0.0.1:14000/dir"},
		{"https://ca.example/a/b/", "ca.example/a/b"},
	} {
		got, err := certbotAccountsDir("/r", tc.url)
		if err != nil || got != filepath.Join("/r", filepath.FromSlash(tc.want)) {
			t.Errorf("certbotAccountsDir(%q) = %q, %v; want /r/%s", tc.url, got, err, tc.want)
		}
	}
	if _, err := certbotAccountsDir("/r", "https://ca.example/../x"); err == nil {
		t.Error("accepted a path with ..")
	}
}
