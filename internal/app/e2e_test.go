package app_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/providers/dns/dnsupdate"

	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/dnsrobocert"
	"github.com/certdock/certdock/internal/app"
	"github.com/certdock/certdock/internal/testenv"
)

// seedExample is the seed README's domains.conf example.
const seedExample = `smtp.example.com
imap.example.com pop.example.com
ldap.example.com
*.example.com example.com
`

// world is a real Pebble + bind9 pair and a certdock configuration for it.
type world struct {
	bind   *testenv.Bind
	pebble *testenv.Pebble
	dir    string
	env    map[string]string
	logs   *testenv.LogBuffer
}

func newWorld(t *testing.T, zones ...string) *world {
	return newBenchWorld(t, zones...)
}

// newBenchWorld is newWorld for tests and benchmarks alike.
func newBenchWorld(t testing.TB, zones ...string) *world {
	return newWorldWith(t, nil, zones...)
}

// newWorldWith is newWorld with Pebble options (profiles, EAB).
func newWorldWith(t testing.TB, popts *testenv.PebbleOptions, zones ...string) *world {
	t.Helper()
	bind := testenv.StartBind(t, zones...)
	pebble := testenv.StartPebble(t, bind.Addr, popts)
	for k, v := range bind.Env() {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	return &world{
		bind: bind, pebble: pebble, dir: dir, logs: &testenv.LogBuffer{},
		env: map[string]string{
			"CERTDOCK_DIR":         dir,
			"ACME_DIRECTORY_URL":   pebble.DirectoryURL,
			"ACME_CA_CERTIFICATES": pebble.TLSCAFile,
			"DNS_PROVIDER":         "rfc2136",
			"DNS_RESOLVERS":        bind.Addr,
		},
	}
}

func (w *world) writeDomains(t testing.TB, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, "domains.conf"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// build wires certdock exactly as the binary does, with lego's RFC 2136
// provider.
func (w *world) build(t testing.TB) *app.App {
	t.Helper()
	return w.buildWith(t, app.Options{})
}

// buildWith is build with extra options (Docker).
func (w *world) buildWith(t testing.TB, opts app.Options) *app.App {
	t.Helper()
	cfg, err := config.FromEnv(func(k string) string { return w.env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	profiles, perrs := config.ReadProfiles(environ(w.env))
	if len(perrs) > 0 {
		t.Fatalf("config: %v", perrs)
	}
	cfg.Profiles = profiles
	if cfg.DnsrobocertConfig != "" { // as cmd/certdock's withProfiles
		data, err := os.ReadFile(cfg.DnsrobocertConfig)
		if err != nil {
			t.Fatal(err)
		}
		robo, err := dnsrobocert.Read(cfg.DnsrobocertConfig, data, os.LookupEnv)
		if err != nil {
			t.Fatalf("config.yml: %v", err)
		}
		rp, rerrs := robo.DNSProfiles()
		if len(rerrs) > 0 {
			t.Fatalf("config.yml profiles: %v", rerrs)
		}
		cfg.Profiles = append(cfg.Profiles, rp...)
	}
	log := slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Provider = func(string) (challenge.Provider, error) {
		p, err := dnsupdate.NewDNSProvider()
		if err != nil {
			return nil, err // never the typed nil
		}
		return p, nil
	}
	a, err := app.Build(cfg, log, opts)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("certdock logs:\n%s", w.logs.String())
		}
	})
	return a
}

func TestSeedExampleEndToEnd(t *testing.T) {
	w := newWorld(t, "example.com")
	w.writeDomains(t, seedExample)
	a := w.build(t)
	ctx := context.Background()

	start := time.Now()
	res := a.Controller.RunOnce(ctx)
	if err := res.Err(); err != nil {
		t.Fatalf("first pass: %v", err)
	}
	t.Logf("seed example (4 certificates) issued in %v", time.Since(start))
	want := map[string][]string{
		"smtp.example.com": {"smtp.example.com"},
		"imap.example.com": {"imap.example.com", "pop.example.com"},
		"ldap.example.com": {"ldap.example.com"},
		"example.com":      {"*.example.com", "example.com"},
	}
	if !slices.Equal(res.Issued, []string{"example.com", "imap.example.com", "ldap.example.com", "smtp.example.com"}) {
		t.Fatalf("issued %v", res.Issued)
	}
	roots := w.pebble.Roots(t)
	for name, sans := range want {
		checkLineage(t, w.dir, name, sans, roots, 1)
	}
	// No challenge record is left in the zone.
	for _, fqdn := range []string{"_acme-challenge.smtp.example.com.", "_acme-challenge.example.com.", "_acme-challenge.pop.example.com."} {
		if txt := w.bind.TXT(t, fqdn); len(txt) != 0 {
			t.Errorf("challenge record left at %s: %v", fqdn, txt)
		}
	}

	// A second pass (and a restarted process) places no order.
	res = w.build(t).Controller.RunOnce(ctx)
	if len(res.Issued) != 0 || len(res.Unchanged) != 4 || res.Err() != nil {
		t.Fatalf("second pass issued %v (unchanged %v, err %v); want nothing", res.Issued, res.Unchanged, res.Err())
	}
	for name := range want {
		if m, _ := filepath.Glob(filepath.Join(w.dir, "archive", name, "cert*.pem")); len(m) != 1 {
			t.Errorf("%s: archive holds %v after a no-op pass", name, m)
		}
	}

	// The account was registered once and reused by the restarted process.
	if n := strings.Count(w.logs.String(), "registered ACME account"); n != 1 {
		t.Errorf("account registered %d times, want once", n)
	}
	if m, _ := filepath.Glob(filepath.Join(w.dir, "accounts", "*", "*", "certdock", "private_key.pem")); len(m) != 1 {
		t.Errorf("account keys on disk: %v, want one", m)
	} else if st, err := os.Stat(m[0]); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("account key mode %v (%v), want 0600", st.Mode().Perm(), err)
	}

	// Changing a line re-issues under the same lineage name.
	w.writeDomains(t, strings.Replace(seedExample, "imap.example.com pop.example.com", "imap.example.com pop.example.com pop3.example.com", 1))
	res = a.Controller.RunOnce(ctx)
	if !slices.Equal(res.Issued, []string{"imap.example.com"}) || res.Err() != nil {
		t.Fatalf("after edit issued %v, err %v", res.Issued, res.Err())
	}
	checkLineage(t, w.dir, "imap.example.com", []string{"imap.example.com", "pop.example.com", "pop3.example.com"}, roots, 2)
	checkLineage(t, w.dir, "smtp.example.com", []string{"smtp.example.com"}, roots, 1)

	// Nothing secret was logged, even at debug level.
	logs := w.logs.String()
	if strings.Contains(logs, w.bind.KeySecret) {
		t.Error("the TSIG secret appears in the logs")
	}
	if strings.Contains(logs, "PRIVATE KEY") {
		t.Error("private key material appears in the logs")
	}
	if !strings.Contains(logs, `"reason":"certificate missing"`) || !strings.Contains(logs, "domains changed") {
		t.Error("decision reasons are not logged")
	}
}

// checkLineage verifies a lineage on disk: relative links into archive at
// version, chain verifying to roots, exact SANs, matching key, modes.
func checkLineage(t *testing.T, dir, name string, sans []string, roots *x509.CertPool, version int) {
	t.Helper()
	live := filepath.Join(dir, "live", name)
	for _, kind := range []string{"cert", "chain", "fullchain", "privkey"} {
		p := filepath.Join(live, kind+".pem")
		target, err := os.Readlink(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if wantT := fmt.Sprintf("../../archive/%s/%s%d.pem", name, kind, version); target != wantT {
			t.Errorf("%s -> %s, want %s", p, target, wantT)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o640 {
			t.Errorf("%s mode %v, want 0640", p, st.Mode().Perm())
		}
	}
	for _, d := range []string{live, filepath.Join(dir, "archive", name), filepath.Join(dir, "live"), filepath.Join(dir, "archive")} {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o750 {
			t.Errorf("%s: mode %v (%v), want 0750", d, st.Mode().Perm(), err)
		}
	}
	leaf := parseCerts(t, filepath.Join(live, "cert.pem"))[0]
	inter := x509.NewCertPool()
	for _, c := range parseCerts(t, filepath.Join(live, "chain.pem")) {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: strings.TrimPrefix(sans[0], "*."), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("%s: chain does not verify against Pebble's root: %v", name, err)
	}
	full := parseCerts(t, filepath.Join(live, "fullchain.pem"))
	if !full[0].Equal(leaf) || len(full) < 2 {
		t.Errorf("%s: fullchain.pem does not start with the leaf followed by the chain", name)
	}
	got := slices.Sorted(slices.Values(leaf.DNSNames))
	if !slices.Equal(got, slices.Sorted(slices.Values(sans))) {
		t.Errorf("%s: SANs %v, want %v", name, got, sans)
	}
	keyPEM, err := os.ReadFile(filepath.Join(live, "privkey.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(keyPEM)
	if blk == nil {
		t.Fatalf("%s: privkey.pem is not PEM", name)
	}
	var key crypto.Signer
	if k, err := x509.ParseECPrivateKey(blk.Bytes); err == nil {
		key = k
	} else if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		key = k.(crypto.Signer)
	} else {
		t.Fatalf("%s: privkey.pem: %v", name, err)
	}
	if !leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
		t.Errorf("%s: private key does not match the certificate", name)
	}
}

func parseCerts(t *testing.T, path string) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no certificate", path)
	}
	return out
}

func TestFaultsAreReportedPerCertificate(t *testing.T) {
	w := newWorld(t, "example.com")
	ctx := context.Background()

	t.Run("DNS update refused for one zone, others proceed", func(t *testing.T) {
		// bind is not authoritative for example.org: the RFC 2136 update
		// for it is refused, the example.com certificate is still issued.
		w.writeDomains(t, "www.example.org\nwww.example.com\n")
		res := w.build(t).Controller.RunOnce(ctx)
		if !slices.Equal(res.Issued, []string{"www.example.com"}) {
			t.Fatalf("issued %v, want www.example.com only", res.Issued)
		}
		err := res.Failed["www.example.org"]
		if err == nil {
			t.Fatal("www.example.org did not fail")
		}
		t.Logf("refused update error: %v", err)
		if _, serr := os.Stat(filepath.Join(w.dir, "live", "www.example.org")); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("a failed certificate left live/ files: %v", serr)
		}
	})

	t.Run("wrong TSIG secret", func(t *testing.T) {
		t.Setenv("DNSUPDATE_TSIG_SECRET", "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE=")
		w.writeDomains(t, "tsig.example.com\n")
		res := w.build(t).Controller.RunOnce(ctx)
		err := res.Failed["tsig.example.com"]
		if err == nil {
			t.Fatal("issuance with a wrong TSIG secret succeeded")
		}
		t.Logf("wrong TSIG error: %v", err)
		msg := err.Error()
		if !strings.Contains(msg, "bad authentication") || !strings.Contains(msg, "DNSUPDATE_") {
			t.Errorf("error does not say the update was refused for its signature and what to check: %v", err)
		}
		if strings.Contains(msg, "d3Jvbmctc2VjcmV0") || strings.Contains(w.logs.String(), "d3Jvbmctc2VjcmV0") {
			t.Error("the TSIG secret leaked into an error or a log line")
		}
	})

	t.Run("secret read from the _FILE variant", func(t *testing.T) {
		secretFile := filepath.Join(t.TempDir(), "tsig-secret")
		if err := os.WriteFile(secretFile, []byte(w.bind.KeySecret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("DNSUPDATE_TSIG_SECRET", "")
		os.Unsetenv("DNSUPDATE_TSIG_SECRET")
		t.Setenv("DNSUPDATE_TSIG_SECRET_FILE", secretFile)
		w.writeDomains(t, "file.example.com\n")
		res := w.build(t).Controller.RunOnce(ctx)
		if !slices.Equal(res.Issued, []string{"file.example.com"}) {
			t.Fatalf("issued %v, failed %v", res.Issued, res.Failed)
		}
	})

	t.Run("missing provider settings name the variable", func(t *testing.T) {
		t.Setenv("DNSUPDATE_NAMESERVER", "")
		w.writeDomains(t, "creds.example.com\n")
		res := w.build(t).Controller.RunOnce(ctx)
		t.Logf("missing settings error: %v", res.Failed["creds.example.com"])
		if err := res.Failed["creds.example.com"]; err == nil || !strings.Contains(err.Error(), "DNSUPDATE_NAMESERVER") {
			t.Fatalf("error %v does not name DNSUPDATE_NAMESERVER", err)
		}
	})

	t.Run("unreachable ACME server", func(t *testing.T) {
		w.env["ACME_DIRECTORY_URL"] = fmt.Sprintf("https://127.0.0.1:%d/dir", testenv.FreePort(t))
		defer func() { w.env["ACME_DIRECTORY_URL"] = w.pebble.DirectoryURL }()
		w.writeDomains(t, "down.example.com\n")
		res := w.build(t).Controller.RunOnce(ctx)
		t.Logf("unreachable CA error: %v", res.Failed["down.example.com"])
		if err := res.Failed["down.example.com"]; err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "ACME_DIRECTORY_URL") {
			t.Fatalf("error %v does not say the CA is unreachable", err)
		}
	})

	t.Run("wrong CA certificate", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other-ca.pem")
		if err := os.WriteFile(other, w.pebble.RootPEM(t), 0o644); err != nil { // a CA, but not the one of Pebble's TLS listener
			t.Fatal(err)
		}
		w.env["ACME_CA_CERTIFICATES"] = other
		defer func() { w.env["ACME_CA_CERTIFICATES"] = w.pebble.TLSCAFile }()
		w.writeDomains(t, "tls.example.com\n")
		res := w.build(t).Controller.RunOnce(ctx)
		t.Logf("wrong CA error: %v", res.Failed["tls.example.com"])
		if err := res.Failed["tls.example.com"]; err == nil || !strings.Contains(err.Error(), "unknown authority") || !strings.Contains(err.Error(), "ACME_CA_CERTIFICATES") {
			t.Fatalf("error %v does not name the TLS certificate problem", err)
		}
	})
}

func TestDaemonKeepsRunningAndRetries(t *testing.T) {
	w := newWorld(t, "example.com")
	w.writeDomains(t, "www.example.org\nwww.example.com\n")
	a := w.build(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, false) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f := a.Controller.Failures()["www.example.org"]
		_, err := a.Store.Load("www.example.com")
		if f.Count >= 1 && err == nil {
			if !f.Next.After(time.Now()) {
				t.Errorf("next attempt %v is not in the future", f.Next)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not issue www.example.com and back off www.example.org (failures %+v, load %v)", f, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("daemon exited early: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
