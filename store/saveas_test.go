package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/certdock/certdock/cert"
)

// TestSaveAs: versions imported from a swarm keep their numbers; live/
// follows the newest; the same import again writes nothing; other files
// under a taken number are refused; an import cut short is completed;
// the next Save continues the numbering.
func TestSaveAs(t *testing.T) {
	root := t.TempDir()
	d := New(root, Options{})
	b3, b5, other := testBundle(t, bundleOpts{}), testBundle(t, bundleOpts{}), testBundle(t, bundleOpts{})
	meta := cert.IssueMeta{Server: "https://acme.example/dir"}

	l, err := d.SaveAs("a.example", 3, b3, meta, false)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 3 {
		t.Fatalf("imported as version %d, want 3", l.Version)
	}
	if _, err := d.SaveAs("a.example", 3, b3, meta, false); err != nil {
		t.Fatalf("the same import again: %v", err)
	}
	if _, err := d.SaveAs("a.example", 3, other, meta, false); !errors.Is(err, ErrVersionExists) {
		t.Fatalf("other files as version 3: %v, want ErrVersionExists", err)
	}
	if l, err = d.SaveAs("a.example", 5, b5, meta, false); err != nil || l.Version != 5 {
		t.Fatalf("version 5: %v, %v", l, err)
	}
	// An older version imported after a newer one: archived, live stays.
	if l, err = d.SaveAs("a.example", 4, other, meta, false); err != nil || l.Version != 5 {
		t.Fatalf("older version 4: live %v, %v", l, err)
	}
	if _, err := os.Stat(filepath.Join(root, "archive", "a.example", "cert4.pem")); err != nil {
		t.Fatalf("version 4 not archived: %v", err)
	}
	// live/ files are version 5's.
	files, err := d.Files("a.example", b5.Cert)
	if err != nil || string(files["privkey.pem"]) != string(b5.PrivateKey) {
		t.Fatalf("live files after importing 5 then 4: %v", err)
	}
	// The next renewal is version 6.
	if l, err = d.Save("a.example", testBundle(t, bundleOpts{}), meta); err != nil || l.Version != 6 {
		t.Fatalf("Save after imports: %v, %v", l, err)
	}

	// A crash left version 2 of b.example with one file: the import
	// completes it.
	arch := filepath.Join(root, "archive", "b.example")
	if err := os.MkdirAll(arch, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(arch, "cert2.pem"), b3.Cert, 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err = d.SaveAs("b.example", 2, b3, meta, false); err != nil || l.Version != 2 {
		t.Fatalf("completing a cut-short import: %v, %v", l, err)
	}
	// Replacing: the swarm's version 5 wins over this node's.
	if l, err = d.SaveAs("a.example", 5, other, meta, true); err != nil || l.Version != 6 {
		t.Fatalf("replacing version 5 (live is 6): %v, %v", l, err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "archive", "a.example", "privkey5.pem")); string(got) != string(other.PrivateKey) {
		t.Fatal("version 5 was not replaced")
	}
	if _, err := d.SaveAs("c.example", 0, b3, meta, false); err == nil {
		t.Fatal("version 0 accepted")
	}
}
