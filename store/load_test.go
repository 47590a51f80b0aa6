package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
)

func TestLoadNotExist(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, d *Dir)
	}{
		{name: "no store", setup: func(t *testing.T, d *Dir) {}},
		{name: "empty store", setup: func(t *testing.T, d *Dir) {
			if err := os.MkdirAll(d.Root(), 0o750); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "other lineage only", setup: func(t *testing.T, d *Dir) {
			mustSave(t, d, "other.example.com", testBundle(t, bundleOpts{}))
		}},
		{name: "archive without live", setup: func(t *testing.T, d *Dir) {
			mustSave(t, d, "example.com", testBundle(t, bundleOpts{}))
			if err := os.RemoveAll(d.LivePath("example.com")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			tt.setup(t, d)
			l, err := d.Load("example.com")
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Load = %v, %v; want fs.ErrNotExist", l, err)
			}
			if errors.Is(err, ErrCorrupt) {
				t.Errorf("a missing lineage is reported corrupt: %v", err)
			}
		})
	}
}

func TestLoadInvalidName(t *testing.T) {
	d := New(t.TempDir(), Options{})
	for _, name := range []string{"../etc", "a/b", "", ".."} {
		_, err := d.Load(name)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load(%q) = %v, want a name error", name, err)
		}
	}
}

func TestLoadCorrupt(t *testing.T) {
	const name = "example.com"
	other := testBundle(t, bundleOpts{})
	tests := []struct {
		name    string
		corrupt func(t *testing.T, d *Dir)
		wantErr string
	}{
		{
			name:    "archive file deleted",
			corrupt: func(t *testing.T, d *Dir) { remove(t, archivePath(d, name, "cert", 2)) },
			wantErr: "broken link to ../../archive/example.com/cert2.pem",
		},
		{
			name:    "live link deleted",
			corrupt: func(t *testing.T, d *Dir) { remove(t, filepath.Join(d.LivePath(name), "privkey.pem")) },
			wantErr: "privkey.pem is missing",
		},
		{
			name:    "garbage certificate",
			corrupt: func(t *testing.T, d *Dir) { write(t, archivePath(d, name, "cert", 2), []byte("garbage\n")) },
			wantErr: "cert.pem: no PEM block",
		},
		{
			name: "truncated certificate",
			corrupt: func(t *testing.T, d *Dir) {
				write(t, archivePath(d, name, "cert", 2), []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
			},
			wantErr: "certificate does not parse",
		},
		{
			name:    "garbage key",
			corrupt: func(t *testing.T, d *Dir) { write(t, archivePath(d, name, "privkey", 2), []byte("garbage\n")) },
			wantErr: "privkey.pem: no PEM private key",
		},
		{
			name:    "key of another certificate",
			corrupt: func(t *testing.T, d *Dir) { write(t, archivePath(d, name, "privkey", 2), other.PrivateKey) },
			wantErr: "privkey.pem does not match cert.pem",
		},
		{
			name:    "fullchain of another certificate",
			corrupt: func(t *testing.T, d *Dir) { write(t, archivePath(d, name, "fullchain", 2), other.Fullchain()) },
			wantErr: "fullchain.pem does not start with",
		},
		{
			name:    "links at different versions",
			corrupt: func(t *testing.T, d *Dir) { pointLink(t, d, name, "chain", 1) },
			wantErr: "different versions (cert 2, chain 1, fullchain 2, privkey 2)",
		},
		{
			name: "link leaving the root",
			corrupt: func(t *testing.T, d *Dir) {
				outside := filepath.Join(filepath.Dir(d.Root()), "outside.pem")
				write(t, outside, other.Cert)
				p := filepath.Join(d.LivePath(name), "cert.pem")
				remove(t, p)
				if err := os.Symlink("../../../outside.pem", p); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "cannot follow link",
		},
		{
			name: "absolute link",
			corrupt: func(t *testing.T, d *Dir) {
				p := filepath.Join(d.LivePath(name), "cert.pem")
				remove(t, p)
				if err := os.Symlink(archivePath(d, name, "cert", 2), p); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "cannot follow link",
		},
		{
			name: "live directory is a file",
			corrupt: func(t *testing.T, d *Dir) {
				if err := os.RemoveAll(d.LivePath(name)); err != nil {
					t.Fatal(err)
				}
				write(t, d.LivePath(name), nil)
			},
			wantErr: "not a directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			mustSave(t, d, name, testBundle(t, bundleOpts{}))
			saved := testBundle(t, bundleOpts{})
			mustSave(t, d, name, saved)
			tt.corrupt(t, d)

			l, err := d.Load(name)
			if err == nil {
				t.Fatalf("Load of a corrupt lineage succeeded: %+v", l)
			}
			if errors.Is(err, fs.ErrNotExist) {
				t.Errorf("corrupt lineage reported as missing: %v", err)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error does not wrap ErrCorrupt: %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			checkNoKeyMaterial(t, err, saved.PrivateKey)
			checkNoKeyMaterial(t, err, other.PrivateKey)
		})
	}
}

func TestLoadRegularFiles(t *testing.T) {
	d := New(t.TempDir(), Options{})
	b := testBundle(t, bundleOpts{keyType: cert.EC384, keyEnc: "pkcs8"})
	dir := d.LivePath("example.com")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	for kind, data := range map[string][]byte{"cert": b.Cert, "chain": b.Chain, "fullchain": b.Fullchain(), "privkey": b.PrivateKey} {
		write(t, filepath.Join(dir, kind+".pem"), data)
	}
	l, err := d.Load("example.com")
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 0 || l.KeyType != cert.EC384 || l.Server != "" {
		t.Errorf("Load = version %d, key %s, server %q; want 0, ec384, \"\"", l.Version, l.KeyType, l.Server)
	}
}

func remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o640); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkLoad(b *testing.B) {
	d := New(b.TempDir(), Options{})
	mustSave(b, d, "example.com", testBundle(b, bundleOpts{}))
	for b.Loop() {
		if _, err := d.Load("example.com"); err != nil {
			b.Fatal(err)
		}
	}
}
