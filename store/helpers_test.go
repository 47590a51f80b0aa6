package store

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
)

// testCA is one issuer shared by all tests; generating it once keeps the
// tests fast.
var testCA = sync.OnceValues(func() (*x509.Certificate, crypto.Signer) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "certdock test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return ca, key
})

// bundleOpts describes a test certificate.
type bundleOpts struct {
	keyType  cert.KeyType // default ec256
	keyEnc   string       // "sec1", "pkcs8" or "pkcs1"; default: sec1 for EC, pkcs1 for RSA
	domains  []string     // default example.com, www.example.com
	notAfter time.Time    // default now + 90 days
}

// testBundle issues a leaf signed by the test CA. The chain is the CA.
func testBundle(tb testing.TB, o bundleOpts) cert.Bundle {
	tb.Helper()
	if o.keyType == "" {
		o.keyType = cert.EC256
	}
	if len(o.domains) == 0 {
		o.domains = []string{"example.com", "www.example.com"}
	}
	if o.notAfter.IsZero() {
		o.notAfter = time.Now().Add(90 * 24 * time.Hour).Truncate(time.Second)
	}
	key := testKey(tb, o.keyType)
	if o.keyEnc == "" {
		o.keyEnc = "sec1"
		if _, ok := key.(*rsa.PrivateKey); ok {
			o.keyEnc = "pkcs1"
		}
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		tb.Fatal(err)
	}
	ca, caKey := testCA()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: o.domains[0]},
		DNSNames:     o.domains,
		NotBefore:    time.Now().Add(-time.Hour).Truncate(time.Second),
		NotAfter:     o.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		tb.Fatal(err)
	}
	return cert.Bundle{
		Cert:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Chain:      pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}),
		PrivateKey: encodeKey(tb, key, o.keyEnc),
	}
}

func testKey(tb testing.TB, kt cert.KeyType) crypto.Signer {
	tb.Helper()
	var (
		key crypto.Signer
		err error
	)
	switch kt {
	case cert.EC256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case cert.EC384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case cert.RSA2048:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case cert.RSA3072:
		key, err = rsa.GenerateKey(rand.Reader, 3072)
	default:
		tb.Fatalf("testKey: unsupported key type %q", kt)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

func encodeKey(tb testing.TB, key crypto.Signer, enc string) []byte {
	tb.Helper()
	var (
		block pem.Block
		err   error
	)
	switch enc {
	case "sec1":
		block.Type = "EC PRIVATE KEY"
		block.Bytes, err = x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	case "pkcs8":
		block.Type = "PRIVATE KEY"
		block.Bytes, err = x509.MarshalPKCS8PrivateKey(key)
	case "pkcs1":
		block.Type = "RSA PRIVATE KEY"
		block.Bytes = x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))
	default:
		tb.Fatalf("encodeKey: unknown encoding %q", enc)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&block)
}

// testMeta is typical issuance metadata.
func testMeta() cert.IssueMeta {
	return cert.IssueMeta{
		Server:   "https://acme.example.test/directory",
		Account:  "0123456789abcdef",
		Provider: "rfc2136",
		Profile:  "shortlived",
		IssuedAt: time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC),
	}
}

// mustSave saves b as the next version of name and fails the test on error.
func mustSave(tb testing.TB, d *Dir, name string, b cert.Bundle) *cert.Lineage {
	tb.Helper()
	l, err := d.Save(name, b, testMeta())
	if err != nil {
		tb.Fatalf("Save(%s): %v", name, err)
	}
	return l
}

// pointLink makes live/<name>/<kind>.pem point at version n, as a crash
// between two link moves would leave it.
func pointLink(tb testing.TB, d *Dir, name, kind string, n int) {
	tb.Helper()
	p := filepath.Join(d.LivePath(name), kind+".pem")
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
	}
	if err := os.Symlink(linkTarget(name, kind, n), p); err != nil {
		tb.Fatal(err)
	}
}

// linkVersions returns the version each live link of name points at, in
// kinds order; -1 for an entry that is not a numbered link.
func linkVersions(tb testing.TB, d *Dir, name string) [len(kinds)]int {
	tb.Helper()
	var out [len(kinds)]int
	for i, kind := range kinds {
		out[i] = -1
		target, err := os.Readlink(filepath.Join(d.LivePath(name), kind+".pem"))
		if err != nil {
			continue
		}
		base, ok := strings.CutPrefix(target, "../../archive/"+name+"/")
		if !ok {
			continue
		}
		if k, n, ok := parseArchiveBase(base); ok && k == kind {
			out[i] = n
		}
	}
	return out
}

// allAt is the linkVersions result of a lineage whose links all point at n.
func allAt(n int) [len(kinds)]int { return [len(kinds)]int{n, n, n, n} }

func archivePath(d *Dir, name, kind string, n int) string {
	return filepath.Join(d.Root(), "archive", name, archiveBase(kind, n))
}
