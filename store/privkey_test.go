package store

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/certdock/certdock/cert"
)

func TestPrivateKey(t *testing.T) {
	const name = "example.com"
	tests := []struct {
		name  string
		setup func(t *testing.T, d *Dir) []byte // returns the wanted key
	}{
		{
			name: "one version",
			setup: func(t *testing.T, d *Dir) []byte {
				b := testBundle(t, bundleOpts{})
				mustSave(t, d, name, b)
				return b.PrivateKey
			},
		},
		{
			name: "newest of three versions",
			setup: func(t *testing.T, d *Dir) []byte {
				saveVersions(t, d, name, 2)
				b := testBundle(t, bundleOpts{keyType: cert.RSA2048, keyEnc: "pkcs8"})
				mustSave(t, d, name, b)
				return b.PrivateKey
			},
		},
		{
			name: "links left at an older version",
			setup: func(t *testing.T, d *Dir) []byte {
				b := testBundle(t, bundleOpts{})
				mustSave(t, d, name, b)
				saveVersions(t, d, name, 1)
				for _, kind := range kinds {
					pointLink(t, d, name, kind, 1)
				}
				return b.PrivateKey
			},
		},
		{
			name: "key with EC parameters, kept as stored",
			setup: func(t *testing.T, d *Dir) []byte {
				b := testBundle(t, bundleOpts{})
				b.PrivateKey = append([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"), b.PrivateKey...)
				mustSave(t, d, name, b)
				return b.PrivateKey
			},
		},
		{
			name: "regular files",
			setup: func(t *testing.T, d *Dir) []byte {
				b := testBundle(t, bundleOpts{keyType: cert.EC384})
				mkdir(t, d.LivePath(name))
				for kind, data := range map[string][]byte{"cert": b.Cert, "chain": b.Chain, "fullchain": b.Fullchain(), "privkey": b.PrivateKey} {
					write(t, filepath.Join(d.LivePath(name), kind+".pem"), data)
				}
				return b.PrivateKey
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			want := tt.setup(t, d)
			got, err := d.PrivateKey(name)
			if err != nil {
				t.Fatalf("PrivateKey: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("PrivateKey returned another key (%d bytes, want %d)", len(got), len(want))
			}
		})
	}
}

func TestPrivateKeyErrors(t *testing.T) {
	const name = "example.com"
	other := testBundle(t, bundleOpts{})
	tests := []struct {
		name    string
		lineage string
		setup   func(t *testing.T, d *Dir)
		is      error // wrapped by the error; nil: neither fs.ErrNotExist nor ErrCorrupt
	}{
		{name: "no store", lineage: name, setup: func(t *testing.T, d *Dir) {}, is: fs.ErrNotExist},
		{name: "empty store", lineage: name, setup: func(t *testing.T, d *Dir) { mkdir(t, d.Root()) }, is: fs.ErrNotExist},
		{
			name:    "other lineage only",
			lineage: name,
			setup:   func(t *testing.T, d *Dir) { saveVersions(t, d, "other.example.com", 1) },
			is:      fs.ErrNotExist,
		},
		{
			name:    "archive without live",
			lineage: name,
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				if err := os.RemoveAll(d.LivePath(name)); err != nil {
					t.Fatal(err)
				}
			},
			is: fs.ErrNotExist,
		},
		{
			name:    "key link missing",
			lineage: name,
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				remove(t, filepath.Join(d.LivePath(name), "privkey.pem"))
			},
			is: ErrCorrupt,
		},
		{
			name:    "key link broken",
			lineage: name,
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				remove(t, archivePath(d, name, "privkey", 1))
			},
			is: ErrCorrupt,
		},
		{
			name:    "cert link broken",
			lineage: name,
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				remove(t, archivePath(d, name, "cert", 1))
			},
			is: ErrCorrupt,
		},
		{
			name:    "key link moved ahead of the certificate",
			lineage: name,
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				pointLink(t, d, name, "cert", 1)
			},
			is: ErrCorrupt,
		},
		{
			name:    "key of another certificate",
			lineage: name,
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				write(t, archivePath(d, name, "privkey", 1), other.PrivateKey)
			},
			is: ErrCorrupt,
		},
		{
			name:    "garbage key",
			lineage: name,
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				write(t, archivePath(d, name, "privkey", 1), []byte("-----BEGIN PRIVATE KEY-----\nMC4=\n-----END PRIVATE KEY-----\n"))
			},
			is: ErrCorrupt,
		},
		{
			name:    "live entry is a file",
			lineage: name,
			setup: func(t *testing.T, d *Dir) {
				mkdir(t, filepath.Join(d.Root(), "live"))
				write(t, d.LivePath(name), []byte("not a directory\n"))
			},
			is: ErrCorrupt,
		},
		{
			name:    "key link out of the root",
			lineage: name,
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				outside := filepath.Join(t.TempDir(), "privkey.pem")
				write(t, outside, readFile(t, archivePath(d, name, "privkey", 1)))
				p := filepath.Join(d.LivePath(name), "privkey.pem")
				remove(t, p)
				if err := os.Symlink(outside, p); err != nil {
					t.Fatal(err)
				}
			},
			is: ErrCorrupt,
		},
		{
			name:    "live directory out of the root",
			lineage: name,
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				outside := t.TempDir()
				if err := os.Rename(d.LivePath(name), filepath.Join(outside, name)); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join(outside, name), d.LivePath(name)); err != nil {
					t.Fatal(err)
				}
			},
		},
		{name: "path traversal", lineage: "../etc", setup: func(t *testing.T, d *Dir) { saveVersions(t, d, name, 1) }},
		{name: "empty name", lineage: "", setup: func(t *testing.T, d *Dir) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			tt.setup(t, d)
			key, err := d.PrivateKey(tt.lineage)
			if err == nil {
				t.Fatalf("PrivateKey returned %d bytes, want an error", len(key))
			}
			for _, sentinel := range []error{fs.ErrNotExist, ErrCorrupt} {
				if got, want := errors.Is(err, sentinel), tt.is == sentinel; got != want {
					t.Errorf("PrivateKey error %q: errors.Is(%v) = %v, want %v", err, sentinel, got, want)
				}
			}
			checkNoKeyMaterial(t, err, other.PrivateKey)
			if data, rerr := os.ReadFile(filepath.Join(d.Root(), "archive", name, "privkey1.pem")); rerr == nil {
				checkNoKeyMaterial(t, err, data)
			}
		})
	}
}
