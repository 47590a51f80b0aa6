package issuer_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/providers/dns/dnsupdate"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/internal/testenv"
	"github.com/certdock/certdock/issuer"
)

// These tests run the issuer against a real Pebble and bind9 (testenv
// skips them, or fails them under CI=true, when those are missing). They
// do not run in parallel: issuer.New sets lego's process-wide DNS client
// to each test's bind.

// recordingProvider wraps lego's dnsupdate provider and records, at each
// Present, which challenge names hold TXT records on the server.
type recordingProvider struct {
	*dnsupdate.DNSProvider
	mu        sync.Mutex
	present   []string // domains presented
	onPresent func(domain string)
}

func (p *recordingProvider) Present(ctx context.Context, domain, token, keyAuth string) error {
	err := p.DNSProvider.Present(ctx, domain, token, keyAuth)
	p.mu.Lock()
	p.present = append(p.present, domain)
	p.mu.Unlock()
	if err == nil && p.onPresent != nil {
		p.onPresent(domain)
	}
	return err
}

func (p *recordingProvider) presented() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.present)
}

type world struct {
	bind     *testenv.Bind
	pebble   *testenv.Pebble
	provider *recordingProvider
	logs     *testenv.LogBuffer
}

func newWorld(t *testing.T, opts *testenv.PebbleOptions, zones ...string) *world {
	t.Helper()
	b := testenv.StartBind(t, zones...)
	p := testenv.StartPebble(t, b.Addr, opts)
	// lego's rfc2136 provider configured as users do, from the
	// environment: DNSUPDATE_NAMESERVER, the TSIG key and DNSUPDATE_ZONES
	// listing every zone of the server.
	for k, v := range b.Env() {
		t.Setenv(k, v)
	}
	prov, err := dnsupdate.NewDNSProvider()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{bind: b, pebble: p, provider: &recordingProvider{DNSProvider: prov}, logs: &testenv.LogBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("issuer logs:\n%s", w.logs.String())
		}
	})
	return w
}

// issuer builds an issuer for this world with its own account directory.
func (w *world) issuer(t *testing.T, edit func(*issuer.Config)) *issuer.Issuer {
	t.Helper()
	cfg := issuer.Config{
		DirectoryURL:   w.pebble.DirectoryURL,
		CACertificates: []string{w.pebble.TLSCAFile},
		AccountsDir:    t.TempDir(),
		Provider:       w.provider,
		ProviderName:   "rfc2136",
		Resolvers:      []string{w.bind.Addr},
		Logger:         slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	iss, err := issuer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func leafOf(t *testing.T, b cert.Bundle) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(b.Cert)
	if block == nil {
		t.Fatal("no PEM certificate in the bundle")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func kindOf(err error) (issuer.Kind, bool) {
	var e *issuer.Error
	if !errors.As(err, &e) {
		return 0, false
	}
	return e.Kind, true
}

func spec(profile string, domains ...string) cert.Spec {
	return cert.Spec{Name: strings.TrimPrefix(domains[0], "*."), Domains: domains, Profile: profile}
}

func TestE2EARIRenewalAndRevocation(t *testing.T) {
	w := newWorld(t, nil, "example.com")
	iss := w.issuer(t, nil)
	ctx := ctxFor(t)
	sp := spec(testenv.DefaultProfile, "www.example.com")

	a, _, err := iss.Issue(ctx, sp)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	leafA := leafOf(t, a)

	// ARI works before any account exists: a fresh issuer only reads the
	// directory.
	fresh := w.issuer(t, nil)
	win, err := fresh.RenewalWindow(ctx, leafA)
	if err != nil {
		t.Fatalf("renewal window: %v", err)
	}
	if fresh.AccountID() != "" {
		t.Error("RenewalWindow registered an account")
	}
	t.Logf("Pebble ARI for a fresh 90-day cert (NotBefore %s, NotAfter %s): start %s, end %s, retry after %v, explanation %q",
		leafA.NotBefore.UTC().Format(time.RFC3339), leafA.NotAfter.UTC().Format(time.RFC3339),
		win.Start.UTC().Format(time.RFC3339), win.End.UTC().Format(time.RFC3339), win.RetryAfter, win.ExplanationURL)
	if !win.Start.After(leafA.NotBefore.Add(50*24*time.Hour)) || win.End.After(leafA.NotAfter) || !win.Start.Before(win.End) {
		t.Errorf("window %v – %v not in the last third of %v – %v", win.Start, win.End, leafA.NotBefore, leafA.NotAfter)
	}
	if win.RetryAfter <= 0 {
		t.Errorf("no Retry-After: %v", win.RetryAfter)
	}
	if at, ok := win.RenewAt(time.Now(), time.Hour); ok {
		t.Errorf("RenewAt for a fresh certificate = %v, want ask again later", at)
	}

	idA, err := iss.ARICertID(leafA)
	if err != nil || idA == "" {
		t.Fatalf("ARICertID: %q, %v", idA, err)
	}

	// Renewal keeping the key, replacing A.
	b, meta, err := iss.Renew(ctx, sp, leafA, a.PrivateKey, true)
	if err != nil {
		t.Fatalf("renew (reuse key): %v", err)
	}
	leafB := leafOf(t, b)
	if meta.ReplaceID != idA {
		t.Errorf("meta.ReplaceID = %q, want %q", meta.ReplaceID, idA)
	}
	if !leafB.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(leafA.PublicKey) {
		t.Error("ACME_REUSE_KEY: the renewed certificate has a new key")
	}
	if leafB.SerialNumber.Cmp(leafA.SerialNumber) == 0 {
		t.Error("renewal returned the same certificate")
	}

	// A is now replaced: renewing it again still works (lego re-orders
	// without "replaces"), and the meta says no replacement was recorded.
	c, meta, err := iss.Renew(ctx, sp, leafA, a.PrivateKey, false)
	if err != nil {
		t.Fatalf("renew an already replaced certificate: %v", err)
	}
	leafC := leafOf(t, c)
	if meta.ReplaceID != "" {
		t.Errorf("meta.ReplaceID = %q for an already replaced certificate, want empty", meta.ReplaceID)
	}
	if leafC.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(leafA.PublicKey) {
		t.Error("reuseKey=false kept the key")
	}

	// Key type change: the old EC key cannot serve an RSA certificate.
	rsaSpec := sp
	rsaSpec.KeyType = cert.RSA2048
	d, meta, err := iss.Renew(ctx, rsaSpec, leafB, b.PrivateKey, true)
	if err != nil {
		t.Fatalf("renew with a new key type: %v", err)
	}
	if _, ok := leafOf(t, d).PublicKey.(interface{ Size() int }); !ok || meta.KeyType != cert.RSA2048 {
		t.Errorf("key type change: got %T, meta %q", leafOf(t, d).PublicKey, meta.KeyType)
	}
	if idB, _ := iss.ARICertID(leafB); meta.ReplaceID != idB {
		t.Errorf("meta.ReplaceID = %q, want B's %q", meta.ReplaceID, idB)
	}
	if !strings.Contains(w.logs.String(), "key type changed") {
		t.Error("the reason for not reusing the key was not logged")
	}

	// A certificate the CA does not know (another CA, or Pebble before a
	// restart): the CA refuses the order's "replaces"; the renewal goes on
	// without it.
	foreign := foreignLeaf(t)
	e, meta, err := iss.Renew(ctx, sp, foreign, nil, false)
	if err != nil {
		t.Fatalf("renew a certificate unknown to the CA: %v", err)
	}
	if meta.ReplaceID != "" || len(e.Cert) == 0 {
		t.Errorf("meta.ReplaceID = %q, want empty", meta.ReplaceID)
	}
	if !strings.Contains(w.logs.String(), "ordering without it") {
		t.Error("the refused replacement was not logged")
	}

	// Revocation; a second one counts as done; ARI then says renew now.
	if err := iss.Revoke(ctx, c.Fullchain()); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if err := iss.Revoke(ctx, c.Cert); err != nil {
		t.Fatalf("revoke again: %v", err)
	}
	win, err = iss.RenewalWindow(ctx, leafC)
	if err != nil {
		t.Fatalf("renewal window after revocation: %v", err)
	}
	if !win.End.Before(time.Now()) {
		t.Errorf("after revocation the window is %v – %v, want in the past", win.Start, win.End)
	}
	if at, ok := win.RenewAt(time.Now(), time.Hour); !ok || time.Since(at) > time.Minute {
		t.Errorf("RenewAt after revocation = %v, %v; want now", at, ok)
	}

	// Another account may not revoke this account's certificate.
	err = fresh.Revoke(ctx, d.Cert)
	if k, ok := kindOf(err); !ok || k != issuer.KindRejected {
		t.Errorf("revoke by another account: %v (kind %v), want KindRejected", err, k)
	}
	// Not a certificate at all.
	if k, _ := kindOf(iss.Revoke(ctx, []byte("junk"))); k != issuer.KindConfig {
		t.Errorf("revoke junk: kind %v, want KindConfig", k)
	}
}

func TestE2EShortLivedProfile(t *testing.T) {
	w := newWorld(t, &testenv.PebbleOptions{ShortLived: true}, "example.com")
	iss := w.issuer(t, nil)
	ctx := ctxFor(t)

	b, meta, err := iss.Issue(ctx, spec(testenv.ShortLivedProfile, "short.example.com"))
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	leaf := leafOf(t, b)
	validity := leaf.NotAfter.Sub(leaf.NotBefore)
	t.Logf("shortlived: NotBefore %s, NotAfter %s (validity %v)", leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339), validity)
	if validity < testenv.ShortLivedValidity-time.Minute || validity > testenv.ShortLivedValidity+time.Minute {
		t.Errorf("validity %v, want about %v", validity, testenv.ShortLivedValidity)
	}
	if meta.Profile != testenv.ShortLivedProfile {
		t.Errorf("meta.Profile = %q", meta.Profile)
	}
	win, err := iss.RenewalWindow(ctx, leaf)
	if err != nil {
		t.Fatalf("renewal window: %v", err)
	}
	t.Logf("shortlived ARI: start %s, end %s, retry after %v", win.Start.UTC().Format(time.RFC3339), win.End.UTC().Format(time.RFC3339), win.RetryAfter)
	if win.Start.Before(leaf.NotBefore.Add(-time.Second)) || win.End.After(leaf.NotAfter.Add(time.Second)) {
		t.Errorf("window %v – %v outside the certificate's lifetime", win.Start, win.End)
	}

	long, _, err := iss.Issue(ctx, spec(testenv.DefaultProfile, "long.example.com"))
	if err != nil {
		t.Fatalf("issue (default profile): %v", err)
	}
	if l := leafOf(t, long); l.NotAfter.Sub(l.NotBefore) < 80*24*time.Hour {
		t.Errorf("default profile validity %v, want 90 days", l.NotAfter.Sub(l.NotBefore))
	}
}

func TestE2EExternalAccountBinding(t *testing.T) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	hmac := base64.RawURLEncoding.EncodeToString(key)
	w := newWorld(t, &testenv.PebbleOptions{EABKeys: map[string]string{"kid-1": hmac}}, "example.com")
	ctx := ctxFor(t)

	iss := w.issuer(t, func(c *issuer.Config) { c.EABKID, c.EABHMAC = "kid-1", hmac })
	if _, _, err := iss.Issue(ctx, spec(testenv.DefaultProfile, "eab.example.com")); err != nil {
		t.Fatalf("issue with EAB: %v", err)
	}
	if iss.AccountID() == "" {
		t.Error("no account after a successful issuance")
	}

	_, _, err := w.issuer(t, nil).Issue(ctx, spec(testenv.DefaultProfile, "noeab.example.com"))
	if k, ok := kindOf(err); !ok || k != issuer.KindRejected {
		t.Errorf("without EAB: %v (kind %v), want KindRejected", err, k)
	}
	if err == nil || !strings.Contains(err.Error(), "externalAccountRequired") ||
		!strings.Contains(err.Error(), "ACME_EAB_KID") || !strings.Contains(err.Error(), "ACME_EAB_HMAC") {
		t.Errorf("without EAB, the error must name the problem and ACME_EAB_KID/ACME_EAB_HMAC: %v", err)
	}

	t.Logf("without EAB: %v", err)

	wrong := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	_, _, err = w.issuer(t, func(c *issuer.Config) { c.EABKID, c.EABHMAC = "kid-1", wrong }).
		Issue(ctx, spec(testenv.DefaultProfile, "wrong.example.com"))
	if k, ok := kindOf(err); !ok || k != issuer.KindConfig || !strings.Contains(err.Error(), "ACME_EAB_HMAC") {
		t.Errorf("wrong HMAC: %v (kind %v), want KindConfig naming ACME_EAB_HMAC", err, k)
	}
	t.Logf("wrong HMAC: %v", err)
}

func TestE2ECNAMEDelegation(t *testing.T) {
	w := newWorld(t, nil, "example.com", "delegated.net")
	if z := os.Getenv("DNSUPDATE_ZONES"); z != "example.com,delegated.net" {
		t.Fatalf("DNSUPDATE_ZONES = %q", z)
	}
	const target = "_acme-challenge.acme.delegated.net."
	w.bind.AddCNAME(t, "_acme-challenge.www.example.com.", target)
	w.bind.AddCNAME(t, "_acme-challenge.example.com.", target)
	w.bind.AddCNAME(t, "_acme-challenge.mail.example.com.", "_acme-challenge.other.delegated.net.")
	ctx := ctxFor(t)

	// While a challenge is presented, the TXT record must be in
	// delegated.net, not at the delegating name.
	var mu sync.Mutex
	var seen []string
	w.provider.onPresent = func(domain string) {
		txt := w.bind.TXT(t, target)
		own := w.bind.TXT(t, "_acme-challenge."+domain+".")
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, domain)
		if len(txt) == 0 || len(own) != 0 {
			t.Errorf("presenting %s: TXT at %s = %v, at _acme-challenge.%s = %v; want the record in delegated.net only", domain, target, txt, domain, own)
		}
	}

	// lego follows the CNAME on its own.
	if _, _, err := w.issuer(t, nil).Issue(ctx, spec(testenv.DefaultProfile, "www.example.com")); err != nil {
		t.Fatalf("issue through the CNAME: %v", err)
	}
	if len(seen) != 1 {
		t.Fatalf("presented %v", seen)
	}
	if left := w.bind.TXT(t, target); len(left) != 0 {
		t.Errorf("challenge records left behind: %v", left)
	}

	// DELEGATED_SUBDOMAIN: delegated names issue, wildcard and apex
	// included (both challenges share one name).
	iss := w.issuer(t, func(c *issuer.Config) { c.DelegatedSubdomain = "acme.delegated.net" })
	if _, _, err := iss.Issue(ctx, spec(testenv.DefaultProfile, "www.example.com")); err != nil {
		t.Fatalf("delegated issue: %v", err)
	}
	if _, _, err := iss.Issue(ctx, spec(testenv.DefaultProfile, "*.example.com", "example.com")); err != nil {
		t.Fatalf("delegated wildcard issue: %v", err)
	}

	// A name without the CNAME fails before anything is presented, and
	// the error gives the record to create.
	before := len(w.provider.presented())
	_, _, err := iss.Issue(ctx, spec(testenv.DefaultProfile, "www.example.com", "shop.example.com"))
	if k, ok := kindOf(err); !ok || k != issuer.KindConfig {
		t.Errorf("missing CNAME: %v (kind %v), want KindConfig", err, k)
	}
	if want := "_acme-challenge.shop.example.com. CNAME _acme-challenge.acme.delegated.net."; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("missing CNAME: error %v does not say %q", err, want)
	}
	if err != nil && strings.Contains(err.Error(), "www.example.com. has no CNAME") {
		t.Errorf("the delegated name is reported too: %v", err)
	}
	t.Logf("missing CNAME: %v", err)
	if got := w.provider.presented(); len(got) != before {
		t.Errorf("records presented despite the failed check: %v", got[before:])
	}

	// A CNAME to the wrong place is named.
	_, _, err = iss.Issue(ctx, spec(testenv.DefaultProfile, "mail.example.com"))
	if err == nil || !strings.Contains(err.Error(), "_acme-challenge.other.delegated.net.") ||
		!strings.Contains(err.Error(), "_acme-challenge.mail.example.com. CNAME _acme-challenge.acme.delegated.net.") {
		t.Errorf("wrong CNAME: %v", err)
	}
	t.Logf("wrong CNAME: %v", err)
}

// foreignLeaf returns a certificate (with an Authority Key Identifier, so
// it has an ARI ID) that Pebble never issued.
func foreignLeaf(t *testing.T) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(0x1234567),
		DNSNames:       []string{"www.example.com"},
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       time.Now().Add(time.Hour),
		AuthorityKeyId: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.AuthorityKeyId) == 0 {
		t.Fatal("test certificate has no AKI")
	}
	return c
}

// A fresh issuer asked for a renewal window while its first order is set
// up must not race: each lego core gets its own copy of the HTTP client
// (lego's api.New rewrites the client's Transport). Run with -race.
func TestE2EConcurrentFirstUse(t *testing.T) {
	w := newWorld(t, nil, "example.com")
	accounts := t.TempDir()
	first := w.issuer(t, func(c *issuer.Config) { c.AccountsDir = accounts })
	b, _, err := first.Issue(ctxFor(t), spec("", "one.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	leaf := leafOf(t, b)
	for range 3 {
		fresh := w.issuer(t, func(c *issuer.Config) { c.AccountsDir = accounts })
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		wg.Go(func() {
			if _, err := fresh.RenewalWindow(ctxFor(t), leaf); err != nil {
				errs <- fmt.Errorf("renewal window: %w", err)
			}
		})
		wg.Go(func() {
			if _, _, err := fresh.Issue(ctxFor(t), spec("", "two.example.com")); err != nil {
				errs <- fmt.Errorf("issue: %w", err)
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}
