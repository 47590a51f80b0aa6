package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/certdock/certdock/cert"
)

func FuzzLoad(f *testing.F) {
	ec := testBundle(f, bundleOpts{})
	rsa := testBundle(f, bundleOpts{keyType: cert.RSA2048, keyEnc: "pkcs8"})
	f.Add(ec.Cert, ec.PrivateKey)
	f.Add(rsa.Cert, rsa.PrivateKey)
	f.Add(ec.Cert, rsa.PrivateKey)
	f.Add(ec.Fullchain(), append([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"), ec.PrivateKey...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN PRIVATE KEY-----\nMC4=\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte{}, []byte{})
	// One store per fuzzing process, rewritten by every input: inputs run
	// one after another, and a fresh directory each time costs more than
	// the Load under test.
	d := New(f.TempDir(), Options{})
	dir := d.LivePath("example.com")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		for kind, data := range map[string][]byte{"cert": certPEM, "chain": nil, "fullchain": certPEM, "privkey": keyPEM} {
			if err := os.WriteFile(filepath.Join(dir, kind+".pem"), data, 0o640); err != nil {
				t.Fatal(err)
			}
		}
		l, err := d.Load("example.com")
		if err != nil {
			return
		}
		if l.Leaf == nil || l.Name != "example.com" || len(l.CertPEM) == 0 {
			t.Fatalf("Load succeeded with an incomplete lineage: %+v", l)
		}
	})
}
