package store

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
)

func TestFiles(t *testing.T) {
	d := New(t.TempDir(), Options{})
	if _, err := d.Files("example.com", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing lineage: %v, want fs.ErrNotExist", err)
	}
	b1 := testBundle(t, bundleOpts{})
	l1 := mustSave(t, d, "example.com", b1)
	files, err := d.Files("example.com", l1.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"} {
		want, err := os.ReadFile(d.LivePath("example.com") + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(files[name], want) {
			t.Errorf("%s differs from live/example.com/%s", name, name)
		}
	}
	if len(files) != 4 {
		t.Errorf("%d files, want 4", len(files))
	}

	// A version saved since the caller decided: an error, not the newer
	// files under the older certificate's name.
	mustSave(t, d, "example.com", testBundle(t, bundleOpts{}))
	if _, err := d.Files("example.com", l1.CertPEM); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "not the certificate asked for") {
		t.Fatalf("stale certificate: %v", err)
	}

	// Links caught between two versions: refused, key material never in
	// the error.
	l2, err := d.Load("example.com")
	if err != nil {
		t.Fatal(err)
	}
	pointLink(t, d, "example.com", "privkey", 1)
	_, err = d.Files("example.com", l2.CertPEM)
	if !errors.Is(err, ErrCorrupt) || strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Fatalf("mixed versions: %v", err)
	}
	if _, err := d.Files("../x", nil); err == nil {
		t.Fatal("an invalid name was accepted")
	}
}
