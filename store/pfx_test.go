package store

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
	"software.sslmate.com/src/go-pkcs12"
)

const testPassphrase = "correct horse battery staple"

func TestWritePFX(t *testing.T) {
	const name = "example.com"
	tests := []struct {
		name    string
		opts    PFXOptions
		keyType cert.KeyType
		dirOpts Options
	}{
		{name: "modern ec256", opts: PFXOptions{Passphrase: testPassphrase}, keyType: cert.EC256},
		{name: "modern rsa2048 private modes", opts: PFXOptions{Passphrase: testPassphrase}, keyType: cert.RSA2048, dirOpts: Options{FileMode: 0o600}},
		{name: "modern empty passphrase", opts: PFXOptions{}, keyType: cert.EC384},
		{name: "legacy ec256", opts: PFXOptions{Passphrase: testPassphrase, Legacy: true}, keyType: cert.EC256},
		{name: "legacy rsa2048 empty passphrase", opts: PFXOptions{Legacy: true}, keyType: cert.RSA2048},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), tt.dirOpts)
			l := mustSave(t, d, name, testBundle(t, bundleOpts{keyType: tt.keyType}))
			if err := d.WritePFX(name, tt.opts); err != nil {
				t.Fatalf("WritePFX: %v", err)
			}
			checkPFXLink(t, d, name, 1)
			checkPFX(t, filepath.Join(d.LivePath(name), "cert.pfx"), tt.opts, l)
			checkMode(t, filepath.Join(d.Root(), "archive", name, "cert1.pfx"), d.fileMode)
			if _, _, err := pkcs12.Decode(readFile(t, filepath.Join(d.LivePath(name), "cert.pfx")), tt.opts.Passphrase+"x"); err == nil {
				t.Error("the file decodes with a wrong passphrase")
			}
			if _, err := d.Load(name); err != nil {
				t.Errorf("Load after WritePFX: %v", err)
			}
			if tmp := tempFiles(t, d); len(tmp) > 0 {
				t.Errorf("temporary files left: %q", tmp)
			}
		})
	}
}

// checkPFX decodes a PKCS #12 file and checks it holds l's key,
// certificate and the test chain, in the encoding opts asks for.
func checkPFX(t *testing.T, p string, opts PFXOptions, l *cert.Lineage) {
	t.Helper()
	data := readFile(t, p)
	key, leaf, chain, err := pkcs12.DecodeChain(data, opts.Passphrase)
	if err != nil {
		t.Fatalf("DecodeChain(%s): %v", p, err)
	}
	if !leaf.Equal(l.Leaf) {
		t.Errorf("%s holds another certificate than the live one", p)
	}
	signer, ok := key.(crypto.Signer)
	if !ok || !keyMatches(leaf, signer) {
		t.Errorf("%s: key %T does not match its certificate", p, key)
	}
	ca, _ := testCA()
	if len(chain) != 1 || !chain[0].Equal(ca) {
		t.Errorf("%s chain has %d certificates, want the test CA", p, len(chain))
	}
	mac, err := pfxMAC(data)
	if err != nil || !mac.Equal(opts.macOID()) {
		t.Errorf("%s MAC algorithm %v, %v; want %v", p, mac, err, opts.macOID())
	}
}

// checkPFXLink checks live/<name>/cert.pfx is a relative link to certN.pfx.
func checkPFXLink(t *testing.T, d *Dir, name string, n int) {
	t.Helper()
	target, err := os.Readlink(filepath.Join(d.LivePath(name), "cert.pfx"))
	if err != nil {
		t.Fatalf("cert.pfx is not a link: %v", err)
	}
	if want := fmt.Sprintf("../../archive/%s/cert%d.pfx", name, n); target != want {
		t.Errorf("cert.pfx -> %q, want %q", target, want)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestWritePFXReplaces(t *testing.T) {
	const name = "example.com"
	opts := PFXOptions{Passphrase: testPassphrase}
	tests := []struct {
		name  string
		setup func(t *testing.T, d *Dir) // the lineage is at version 2 afterwards
	}{
		{
			name: "regular file from an older tool",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				write(t, filepath.Join(d.LivePath(name), "cert.pfx"), []byte("written by openssl pkcs12 -export"))
			},
		},
		{
			name: "link to the previous version",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				if err := d.WritePFX(name, opts); err != nil {
					t.Fatal(err)
				}
				saveVersions(t, d, name, 1)
				checkPFXLink(t, d, name, 1)
			},
		},
		{
			name: "broken link",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				if err := os.Symlink("../../archive/example.com/cert9.pfx", filepath.Join(d.LivePath(name), "cert.pfx")); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "absolute link out of the root",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				outside := filepath.Join(t.TempDir(), "outside.pfx")
				write(t, outside, []byte("not ours"))
				if err := os.Symlink(outside, filepath.Join(d.LivePath(name), "cert.pfx")); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if got := readFile(t, outside); string(got) != "not ours" {
						t.Errorf("the file outside the root was written: %q", got)
					}
				})
			},
		},
		{
			name: "archive file of the version is garbage",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				write(t, filepath.Join(d.Root(), "archive", name, "cert2.pfx"), []byte("truncated"))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			tt.setup(t, d)
			l, err := d.Load(name)
			if err != nil || l.Version != 2 {
				t.Fatalf("Load = v%v, %v; want version 2", l, err)
			}
			if err := d.WritePFX(name, opts); err != nil {
				t.Fatalf("WritePFX: %v", err)
			}
			checkPFXLink(t, d, name, 2)
			checkPFX(t, filepath.Join(d.LivePath(name), "cert.pfx"), opts, l)
			if tmp := tempFiles(t, d); len(tmp) > 0 {
				t.Errorf("temporary files left: %q", tmp)
			}
		})
	}
}

func TestWritePFXIdempotent(t *testing.T) {
	const name = "example.com"
	d := New(filepath.Join(t.TempDir(), "le"), Options{})
	l := mustSave(t, d, name, testBundle(t, bundleOpts{}))
	archived := filepath.Join(d.Root(), "archive", name, "cert1.pfx")

	steps := []struct {
		name    string
		opts    PFXOptions
		rewrite bool
	}{
		{name: "first export", opts: PFXOptions{Passphrase: "one"}, rewrite: true},
		{name: "same options", opts: PFXOptions{Passphrase: "one"}, rewrite: false},
		{name: "new passphrase", opts: PFXOptions{Passphrase: "two"}, rewrite: true},
		{name: "legacy encoding", opts: PFXOptions{Passphrase: "two", Legacy: true}, rewrite: true},
		{name: "legacy again", opts: PFXOptions{Passphrase: "two", Legacy: true}, rewrite: false},
		{name: "back to modern", opts: PFXOptions{Passphrase: "two"}, rewrite: true},
	}
	var before fs.FileInfo
	for _, step := range steps {
		if err := d.WritePFX(name, step.opts); err != nil {
			t.Fatalf("%s: WritePFX: %v", step.name, err)
		}
		after, err := os.Stat(archived)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if before != nil && os.SameFile(before, after) == step.rewrite {
			t.Errorf("%s: rewritten = %t, want %t", step.name, !os.SameFile(before, after), step.rewrite)
		}
		checkPFX(t, archived, step.opts, l)
		before = after
	}
}

func TestWritePFXFollowsNewVersions(t *testing.T) {
	const name = "example.com"
	opts := PFXOptions{Passphrase: testPassphrase}
	d := New(filepath.Join(t.TempDir(), "le"), Options{})
	for n := 1; n <= 3; n++ {
		l := mustSave(t, d, name, testBundle(t, bundleOpts{}))
		if l.Version != n {
			t.Fatalf("Save gave version %d, want %d", l.Version, n)
		}
		if err := d.WritePFX(name, opts); err != nil {
			t.Fatalf("WritePFX v%d: %v", n, err)
		}
		checkPFXLink(t, d, name, n)
		checkPFX(t, filepath.Join(d.LivePath(name), "cert.pfx"), opts, l)
	}
	// Every version keeps its own PKCS #12 file next to its PEM files.
	if got := archiveFiles(t, d); !slices.Contains(got, "example.com/cert3.pfx") || len(got) != 4*3+3 {
		t.Errorf("archive holds %q", got)
	}
}

func TestWritePFXRegularFileLineage(t *testing.T) {
	const name = "example.com"
	opts := PFXOptions{Passphrase: testPassphrase, Legacy: true}
	d := New(filepath.Join(t.TempDir(), "le"), Options{})
	l := mustSave(t, d, name, testBundle(t, bundleOpts{}))
	for _, kind := range kinds {
		p := filepath.Join(d.LivePath(name), kind+".pem")
		data := readFile(t, p)
		remove(t, p)
		write(t, p, data)
	}
	if err := d.WritePFX(name, opts); err != nil {
		t.Fatalf("WritePFX: %v", err)
	}
	p := filepath.Join(d.LivePath(name), "cert.pfx")
	checkMode(t, p, d.fileMode)
	checkPFX(t, p, opts, l)
	if _, err := os.Lstat(filepath.Join(d.Root(), "archive", name, "cert1.pfx")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a regular-file lineage got an archive PKCS #12 file: %v", err)
	}
}

func TestWritePFXErrors(t *testing.T) {
	tests := []struct {
		name    string
		lineage string
		opts    PFXOptions
		setup   func(t *testing.T, d *Dir)
		is      error // errors.Is target; nil for any error
	}{
		{name: "invalid name", lineage: "../etc", opts: PFXOptions{Passphrase: testPassphrase}},
		{name: "no store", lineage: "example.com", opts: PFXOptions{Passphrase: testPassphrase}, is: fs.ErrNotExist},
		{
			name: "no lineage", lineage: "example.com", opts: PFXOptions{Passphrase: testPassphrase}, is: fs.ErrNotExist,
			setup: func(t *testing.T, d *Dir) { saveVersions(t, d, "other.example.com", 1) },
		},
		{
			name: "mismatched links", lineage: "example.com", opts: PFXOptions{Passphrase: testPassphrase}, is: ErrCorrupt,
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, "example.com", 2)
				pointLink(t, d, "example.com", "privkey", 1)
			},
		},
		{
			name: "archive key gone", lineage: "example.com", opts: PFXOptions{Passphrase: testPassphrase}, is: ErrCorrupt,
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, "example.com", 1)
				remove(t, archivePath(d, "example.com", "privkey", 1))
			},
		},
		{
			name: "passphrase outside UCS-2", lineage: "example.com", opts: PFXOptions{Passphrase: "secret 🔑 phrase"},
			setup: func(t *testing.T, d *Dir) { saveVersions(t, d, "example.com", 1) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			if tt.setup != nil {
				tt.setup(t, d)
			}
			err := d.WritePFX(tt.lineage, tt.opts)
			if err == nil {
				t.Fatal("WritePFX succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			if strings.Contains(err.Error(), tt.opts.Passphrase) {
				t.Errorf("error shows the passphrase: %v", err)
			}
			if _, err := os.Lstat(filepath.Join(d.LivePath("example.com"), "cert.pfx")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("cert.pfx exists after a failed WritePFX: %v", err)
			}
		})
	}
}

func TestPFXOptionsHidePassphrase(t *testing.T) {
	opts := PFXOptions{Passphrase: testPassphrase, Legacy: true}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("pfx", "opts", opts)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("pfx", "opts", opts)
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", opts),
		"%+v":  fmt.Sprintf("%+v", opts),
		"%#v":  fmt.Sprintf("%#v", opts),
		"%s":   fmt.Sprintf("%s", opts),
		"&%v":  fmt.Sprintf("%v", &opts),
		"slog": logged.String(),
	}
	for verb, out := range outputs {
		if strings.Contains(out, testPassphrase) || strings.Contains(out, "horse") {
			t.Errorf("%s shows the passphrase: %s", verb, out)
		}
		if !strings.Contains(out, "redacted") {
			t.Errorf("%s does not say the passphrase is redacted: %s", verb, out)
		}
	}
}

func TestRepairPFX(t *testing.T) {
	const name = "example.com"
	exportAt := func(t *testing.T, d *Dir, n int) {
		t.Helper()
		for _, kind := range kinds {
			pointLink(t, d, name, kind, n)
		}
		if err := d.WritePFX(name, PFXOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pointPFX := func(t *testing.T, d *Dir, n int) {
		t.Helper()
		p := filepath.Join(d.LivePath(name), "cert.pfx")
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		if err := os.Symlink(pfxTarget(name, n), p); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		setup    func(t *testing.T, d *Dir)
		repaired bool
		pfxLink  int // version cert.pfx points at; 0: not a link
		pfxFile  bool
	}{
		{
			name:  "no pfx",
			setup: func(t *testing.T, d *Dir) { saveVersions(t, d, name, 2) },
		},
		{
			name: "pfx link current",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				exportAt(t, d, 2)
			},
			pfxLink: 2,
		},
		{
			name: "stale link, file for the live version exists",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				exportAt(t, d, 1)
				exportAt(t, d, 2)
				pointPFX(t, d, 1)
			},
			repaired: true,
			pfxLink:  2,
		},
		{
			name: "crash between Save and WritePFX",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				exportAt(t, d, 1)
				saveVersions(t, d, name, 1)
			},
			pfxLink: 1, // left for the next WritePFX
		},
		{
			name: "links moved back to an older complete version",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				exportAt(t, d, 1)
				exportAt(t, d, 2)
				remove(t, archivePath(d, name, "privkey", 2))
			},
			repaired: true,
			pfxLink:  1,
		},
		{
			name: "regular pfx left alone",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				exportAt(t, d, 2)
				remove(t, filepath.Join(d.LivePath(name), "cert.pfx"))
				write(t, filepath.Join(d.LivePath(name), "cert.pfx"), []byte("older tool"))
			},
			pfxFile: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			tt.setup(t, d)
			repaired, err := d.Repair()
			if err != nil {
				t.Fatalf("Repair: %v", err)
			}
			if got := slices.Contains(repaired, name); got != tt.repaired {
				t.Errorf("repaired %q, want %s repaired: %t", repaired, name, tt.repaired)
			}
			p := filepath.Join(d.LivePath(name), "cert.pfx")
			fi, err := os.Lstat(p)
			switch {
			case tt.pfxLink > 0:
				checkPFXLink(t, d, name, tt.pfxLink)
			case tt.pfxFile:
				if err != nil || !fi.Mode().IsRegular() {
					t.Errorf("cert.pfx is not the regular file any more: %v", err)
				}
			default:
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("cert.pfx appeared: %v", err)
				}
			}
			if l, err := d.Load(name); err != nil {
				t.Errorf("Load after Repair: %v", err)
			} else if tt.pfxLink > 0 && tt.pfxLink == l.Version {
				checkPFX(t, p, PFXOptions{}, l)
			}
			if again, _ := d.Repair(); len(again) != 0 {
				t.Errorf("second Repair repaired %q", again)
			}
		})
	}
}

func TestParsePFXArchiveBase(t *testing.T) {
	tests := []struct {
		base string
		n    int
		ok   bool
	}{
		{"cert1.pfx", 1, true},
		{"cert12.pfx", 12, true},
		{"cert.pfx", 0, false},
		{"cert01.pfx", 0, false},
		{"cert0.pfx", 0, false},
		{"cert1.pem", 0, false},
		{"chain1.pfx", 0, false},
		{"cert1a.pfx", 0, false},
		{"cert99999999999999999999.pfx", 0, false},
	}
	for _, tt := range tests {
		n, ok := parsePFXArchiveBase(tt.base)
		if n != tt.n || ok != tt.ok {
			t.Errorf("parsePFXArchiveBase(%q) = %d, %t; want %d, %t", tt.base, n, ok, tt.n, tt.ok)
		}
		if ok {
			if got := pfxArchiveBase(n); got != tt.base {
				t.Errorf("pfxArchiveBase(%d) = %q, want %q", n, got, tt.base)
			}
		}
	}
}
