package store

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/certdock/certdock/cert"
)

func TestVersions(t *testing.T) {
	const name = "example.com"
	tests := []struct {
		name  string
		setup func(t *testing.T, d *Dir)
		want  []int // version numbers, in order
	}{
		{
			name:  "one version",
			setup: func(t *testing.T, d *Dir) { saveVersions(t, d, name, 1) },
			want:  []int{1},
		},
		{
			name:  "three complete versions",
			setup: func(t *testing.T, d *Dir) { saveVersions(t, d, name, 3) },
			want:  []int{1, 2, 3},
		},
		{
			name: "three versions, the middle one without its key",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 3)
				remove(t, archivePath(d, name, "privkey", 2))
			},
			want: []int{1, 3},
		},
		{
			name: "newest version half written",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 3)
				remove(t, archivePath(d, name, "fullchain", 3))
				remove(t, archivePath(d, name, "privkey", 3))
			},
			want: []int{1, 2},
		},
		{
			name: "garbage certificate",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 3)
				write(t, archivePath(d, name, "cert", 2), []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
			},
			want: []int{1, 3},
		},
		{
			name: "empty key file",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				write(t, archivePath(d, name, "privkey", 1), nil)
			},
			want: []int{2},
		},
		{
			name: "key of another certificate",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 3)
				write(t, archivePath(d, name, "privkey", 1), testBundle(t, bundleOpts{}).PrivateKey)
			},
			want: []int{2, 3},
		},
		{
			name: "fullchain of another certificate",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 3)
				write(t, archivePath(d, name, "fullchain", 3), testBundle(t, bundleOpts{}).Fullchain())
			},
			want: []int{1, 2},
		},
		{
			name: "archive file is a directory",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				remove(t, archivePath(d, name, "chain", 2))
				mkdir(t, archivePath(d, name, "chain", 2))
			},
			want: []int{1},
		},
		{
			name: "archive file links out of the root",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				outside := filepath.Join(t.TempDir(), "cert.pem")
				write(t, outside, readFile(t, archivePath(d, name, "cert", 2)))
				remove(t, archivePath(d, name, "cert", 2))
				if err := os.Symlink(outside, archivePath(d, name, "cert", 2)); err != nil {
					t.Fatal(err)
				}
			},
			want: []int{1},
		},
		{
			name: "numeric order past nine, with a gap",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 3)
				for _, kind := range kinds {
					if err := os.Rename(archivePath(d, name, kind, 2), archivePath(d, name, kind, 10)); err != nil {
						t.Fatal(err)
					}
				}
			},
			want: []int{1, 3, 10},
		},
		{
			name: "other files ignored",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				if err := d.WritePFX(name, PFXOptions{}); err != nil {
					t.Fatal(err)
				}
				arch := filepath.Join(d.Root(), "archive", name)
				write(t, filepath.Join(arch, ".cert3.pem.tmp-crash"), readFile(t, archivePath(d, name, "cert", 2)))
				write(t, filepath.Join(arch, "cert07.pem"), readFile(t, archivePath(d, name, "cert", 2)))
				write(t, filepath.Join(arch, "notes.txt"), []byte("hello\n"))
				write(t, archivePath(d, name, "cert", 5), readFile(t, archivePath(d, name, "cert", 1)))
			},
			want: []int{1, 2},
		},
		{
			name: "no complete version",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				remove(t, archivePath(d, name, "privkey", 1))
				remove(t, archivePath(d, name, "privkey", 2))
			},
			want: nil,
		},
		{
			name: "empty archive directory",
			setup: func(t *testing.T, d *Dir) {
				mkdir(t, filepath.Join(d.Root(), "archive", name))
			},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			tt.setup(t, d)
			got, err := d.Versions(name)
			if err != nil {
				t.Fatalf("Versions: %v", err)
			}
			var numbers []int
			for _, v := range got {
				numbers = append(numbers, v.Number)
			}
			if !slices.Equal(numbers, tt.want) {
				t.Fatalf("Versions = %v, want %v", numbers, tt.want)
			}
			for _, v := range got {
				checkVersion(t, d, name, v)
			}
		})
	}
}

// checkVersion compares v with the certificate in archive/<name>/certN.pem.
func checkVersion(t *testing.T, d *Dir, name string, v cert.Version) {
	t.Helper()
	data := readFile(t, archivePath(d, name, "cert", v.Number))
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("cert%d.pem is not PEM", v.Number)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatalf("cert%d.pem: %v", v.Number, err)
	}
	if !bytes.Equal(v.CertPEM, data) {
		t.Errorf("version %d: CertPEM is not the archived certificate", v.Number)
	}
	if !v.NotBefore.Equal(c.NotBefore) || !v.NotAfter.Equal(c.NotAfter) {
		t.Errorf("version %d: validity %v – %v, want %v – %v", v.Number, v.NotBefore, v.NotAfter, c.NotBefore, c.NotAfter)
	}
	if v.Serial != c.SerialNumber.String() {
		t.Errorf("version %d: serial %s, want %s", v.Number, v.Serial, c.SerialNumber)
	}
}

func TestVersionsNewestIsLoaded(t *testing.T) {
	d := New(t.TempDir(), Options{})
	const name = "example.com"
	saveVersions(t, d, name, 2)
	l, err := d.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := d.Versions(name)
	if err != nil || len(vs) != 2 {
		t.Fatalf("Versions = %v, %v; want two", vs, err)
	}
	v := vs[len(vs)-1]
	if v.Number != l.Version || !bytes.Equal(v.CertPEM, l.CertPEM) || v.Serial != l.Leaf.SerialNumber.String() {
		t.Errorf("newest version %d (serial %s) is not the loaded version %d (serial %s)", v.Number, v.Serial, l.Version, l.Leaf.SerialNumber)
	}
	vs[0].CertPEM[0] = 'X'
	if again, err := d.Versions(name); err != nil || again[0].CertPEM[0] != '-' {
		t.Errorf("a caller's change to CertPEM reached the store: %v", err)
	}
}

func TestVersionsErrors(t *testing.T) {
	const name = "example.com"
	tests := []struct {
		name     string
		lineage  string
		setup    func(t *testing.T, d *Dir)
		notExist bool // the error wraps fs.ErrNotExist
	}{
		{name: "no store", lineage: name, setup: func(t *testing.T, d *Dir) {}, notExist: true},
		{name: "empty store", lineage: name, setup: func(t *testing.T, d *Dir) { mkdir(t, d.Root()) }, notExist: true},
		{
			name:     "other lineage only",
			lineage:  name,
			setup:    func(t *testing.T, d *Dir) { saveVersions(t, d, "other.example.com", 1) },
			notExist: true,
		},
		{
			name:    "live regular files without archive",
			lineage: name,
			setup: func(t *testing.T, d *Dir) {
				b := testBundle(t, bundleOpts{})
				mkdir(t, d.LivePath(name))
				for kind, data := range map[string][]byte{"cert": b.Cert, "chain": b.Chain, "fullchain": b.Fullchain(), "privkey": b.PrivateKey} {
					write(t, filepath.Join(d.LivePath(name), kind+".pem"), data)
				}
			},
			notExist: true,
		},
		{
			name:    "archive entry is a file",
			lineage: name,
			setup: func(t *testing.T, d *Dir) {
				mkdir(t, filepath.Join(d.Root(), "archive"))
				write(t, filepath.Join(d.Root(), "archive", name), []byte("not a directory\n"))
			},
		},
		{name: "path traversal", lineage: "../etc", setup: func(t *testing.T, d *Dir) { saveVersions(t, d, name, 1) }},
		{name: "empty name", lineage: "", setup: func(t *testing.T, d *Dir) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			tt.setup(t, d)
			vs, err := d.Versions(tt.lineage)
			if err == nil {
				t.Fatalf("Versions = %v, want an error", vs)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tt.notExist {
				t.Errorf("Versions error %q: wraps fs.ErrNotExist = %v, want %v", err, got, tt.notExist)
			}
		})
	}
}
