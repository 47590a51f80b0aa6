package store

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	notAfter := time.Now().Add(47 * 24 * time.Hour).Truncate(time.Second).UTC()
	tests := []struct {
		name               string
		opts               Options
		bundle             bundleOpts
		wantDir, wantFile  fs.FileMode
		wantKeyType        cert.KeyType
		wantRenewalKeyType string
	}{
		{
			name:        "ec256 sec1 default modes",
			bundle:      bundleOpts{keyType: cert.EC256, keyEnc: "sec1"},
			wantDir:     0o750,
			wantFile:    0o640,
			wantKeyType: cert.EC256,
		},
		{
			name:        "ec384 pkcs8 private modes",
			opts:        Options{DirMode: 0o700, FileMode: 0o600},
			bundle:      bundleOpts{keyType: cert.EC384, keyEnc: "pkcs8"},
			wantDir:     0o700,
			wantFile:    0o600,
			wantKeyType: cert.EC384,
		},
		{
			name:        "rsa2048 pkcs1 modes wider than the umask",
			opts:        Options{DirMode: 0o770, FileMode: 0o664},
			bundle:      bundleOpts{keyType: cert.RSA2048, keyEnc: "pkcs1"},
			wantDir:     0o770,
			wantFile:    0o664,
			wantKeyType: cert.RSA2048,
		},
		{
			name:        "rsa3072 pkcs8",
			bundle:      bundleOpts{keyType: cert.RSA3072, keyEnc: "pkcs8"},
			wantDir:     0o750,
			wantFile:    0o640,
			wantKeyType: cert.RSA3072,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "letsencrypt")
			d := New(root, tt.opts)
			tt.bundle.domains = []string{"www.example.com", "example.com", "*.example.com"}
			tt.bundle.notAfter = notAfter
			b := testBundle(t, tt.bundle)
			const name = "www.example.com"

			saved := mustSave(t, d, name, b)
			l, err := d.Load(name)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			for _, got := range []*cert.Lineage{saved, l} {
				if got.Name != name || got.Version != 1 || got.KeyType != tt.wantKeyType {
					t.Errorf("lineage = %s v%d %s, want %s v1 %s", got.Name, got.Version, got.KeyType, name, tt.wantKeyType)
				}
				if !slices.Equal(got.Domains, tt.bundle.domains) {
					t.Errorf("Domains = %q, want %q (certificate order)", got.Domains, tt.bundle.domains)
				}
				if !got.NotAfter.Equal(notAfter) {
					t.Errorf("NotAfter = %v, want %v", got.NotAfter, notAfter)
				}
				if got.Server != testMeta().Server {
					t.Errorf("Server = %q, want %q", got.Server, testMeta().Server)
				}
				if got.Leaf == nil || !bytes.Equal(got.CertPEM, b.Cert) {
					t.Errorf("Leaf/CertPEM not the saved certificate")
				}
				if got.NotBefore.IsZero() || !got.NotBefore.Equal(got.Leaf.NotBefore) {
					t.Errorf("NotBefore = %v", got.NotBefore)
				}
			}

			for _, dir := range []string{"live", "archive", "renewal", "live/" + name, "archive/" + name} {
				checkMode(t, filepath.Join(root, dir), fs.ModeDir|tt.wantDir)
			}
			for _, kind := range kinds {
				checkMode(t, archivePath(d, name, kind, 1), tt.wantFile)
				link := filepath.Join(d.LivePath(name), kind+".pem")
				target, err := os.Readlink(link)
				if err != nil {
					t.Fatalf("%s.pem is not a symlink: %v", kind, err)
				}
				if want := "../../archive/" + name + "/" + kind + "1.pem"; target != want {
					t.Errorf("%s.pem -> %q, want %q", kind, target, want)
				}
				if filepath.IsAbs(target) {
					t.Errorf("%s.pem target %q is absolute", kind, target)
				}
			}
			for _, f := range []string{"live/README", "live/" + name + "/README", "renewal/" + name + ".conf"} {
				checkMode(t, filepath.Join(root, f), tt.wantFile)
			}

			read := func(kind string) []byte {
				data, err := os.ReadFile(filepath.Join(d.LivePath(name), kind+".pem"))
				if err != nil {
					t.Fatal(err)
				}
				return data
			}
			if !bytes.Equal(read("cert"), b.Cert) || !bytes.Equal(read("chain"), b.Chain) ||
				!bytes.Equal(read("privkey"), b.PrivateKey) || !bytes.Equal(read("fullchain"), b.Fullchain()) {
				t.Error("live files do not hold the saved bundle")
			}
		})
	}
}

func checkMode(t *testing.T, p string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (fs.ModeType | fs.ModePerm); got != want {
		t.Errorf("mode of %s = %v, want %v", p, got, want)
	}
}

func TestSaveNextVersion(t *testing.T) {
	d := New(t.TempDir(), Options{})
	const name = "example.com"
	b1, b2 := testBundle(t, bundleOpts{}), testBundle(t, bundleOpts{domains: []string{"example.com", "new.example.com"}})
	mustSave(t, d, name, b1)
	l := mustSave(t, d, name, b2)
	if l.Version != 2 {
		t.Errorf("second Save: Version = %d, want 2", l.Version)
	}
	if !slices.Equal(l.Domains, []string{"example.com", "new.example.com"}) {
		t.Errorf("Domains = %q, want the second certificate's", l.Domains)
	}
	if got := linkVersions(t, d, name); got != allAt(2) {
		t.Errorf("links at %v, want all at 2", got)
	}
	old, err := os.ReadFile(archivePath(d, name, "cert", 1))
	if err != nil || !bytes.Equal(old, b1.Cert) {
		t.Errorf("archive cert1.pem not kept: %v", err)
	}
	for _, kind := range kinds {
		if _, err := os.Stat(archivePath(d, name, kind, 1)); err != nil {
			t.Errorf("archive version 1: %v", err)
		}
	}
}

func TestSaveSameBundleAgain(t *testing.T) {
	d := New(t.TempDir(), Options{})
	b := testBundle(t, bundleOpts{})
	mustSave(t, d, "example.com", b)
	l := mustSave(t, d, "example.com", b)
	if l.Version != 1 {
		t.Errorf("saving the live bundle again gave version %d, want 1", l.Version)
	}
	if _, err := os.Stat(archivePath(d, "example.com", "cert", 2)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("cert2.pem written for an unchanged bundle (stat: %v)", err)
	}
}

func TestSaveVersionAfterGap(t *testing.T) {
	tests := []struct {
		name  string
		extra []string // files added to archive/<name>/ after version 1
		want  int
	}{
		{name: "cert1 and cert3", extra: []string{"cert3.pem"}, want: 4},
		{name: "lone privkey", extra: []string{"privkey7.pem"}, want: 8},
		{name: "fullchain counts too", extra: []string{"fullchain12.pem", "chain2.pem"}, want: 13},
		{name: "not version files", extra: []string{"cert.pem", "cert07.pem", "cert+9.pem", "key9.pem", ".cert9.pem.tmp-x"}, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(t.TempDir(), Options{})
			mustSave(t, d, "example.com", testBundle(t, bundleOpts{}))
			for _, f := range tt.extra {
				if err := os.WriteFile(filepath.Join(d.Root(), "archive", "example.com", f), []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			l := mustSave(t, d, "example.com", testBundle(t, bundleOpts{}))
			if l.Version != tt.want {
				t.Errorf("Version = %d, want %d", l.Version, tt.want)
			}
			if got := linkVersions(t, d, "example.com"); got != allAt(tt.want) {
				t.Errorf("links at %v, want all at %d", got, tt.want)
			}
		})
	}
}

func TestSaveRefusesBadInput(t *testing.T) {
	good := testBundle(t, bundleOpts{})
	other := testBundle(t, bundleOpts{})
	rsaOther := testBundle(t, bundleOpts{keyType: cert.RSA2048})
	withKey := func(b cert.Bundle, key []byte) cert.Bundle { b.PrivateKey = key; return b }
	tests := []struct {
		name    string
		lineage string
		bundle  cert.Bundle
		meta    func(*cert.IssueMeta)
		wantErr string
	}{
		{name: "key of another certificate", lineage: "example.com", bundle: withKey(good, other.PrivateKey), wantErr: "does not match"},
		{name: "rsa key for ec certificate", lineage: "example.com", bundle: withKey(good, rsaOther.PrivateKey), wantErr: "does not match"},
		{name: "garbage key", lineage: "example.com", bundle: withKey(good, []byte("not a key")), wantErr: "private key"},
		{name: "certificate as key", lineage: "example.com", bundle: withKey(good, good.Cert), wantErr: "not a private key"},
		{name: "garbage certificate", lineage: "example.com", bundle: cert.Bundle{Cert: []byte("junk"), PrivateKey: good.PrivateKey}, wantErr: "certificate"},
		{name: "no certificate", lineage: "example.com", bundle: cert.Bundle{PrivateKey: good.PrivateKey}, wantErr: "certificate"},
		{name: "garbage chain", lineage: "example.com", bundle: cert.Bundle{Cert: good.Cert, Chain: []byte("junk"), PrivateKey: good.PrivateKey}, wantErr: "chain"},
		{name: "line break in server", lineage: "example.com", bundle: good, meta: func(m *cert.IssueMeta) { m.Server = "https://x/\n[renewalparams]" }, wantErr: "control character"},
		{name: "parent directory", lineage: "../x", bundle: good, wantErr: "certificate name"},
		{name: "slash", lineage: "a/b", bundle: good, wantErr: "certificate name"},
		{name: "dot dot", lineage: "..", bundle: good, wantErr: "certificate name"},
		{name: "empty", lineage: "", bundle: good, wantErr: "certificate name"},
		{name: "hidden", lineage: ".example.com", bundle: good, wantErr: "certificate name"},
		{name: "absolute", lineage: "/etc", bundle: good, wantErr: "certificate name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta := testMeta()
			if tt.meta != nil {
				tt.meta(&meta)
			}

			// Into an empty store: nothing at all may appear.
			root := filepath.Join(t.TempDir(), "le")
			d := New(root, Options{})
			_, err := d.Save(tt.lineage, tt.bundle, meta)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Save error = %v, want one containing %q", err, tt.wantErr)
			}
			checkNoKeyMaterial(t, err, tt.bundle.PrivateKey)
			if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused Save created %s (stat: %v)", root, err)
			}

			// Over an existing lineage: version 1 stays, no version 2 appears.
			if cert.ValidName(tt.lineage) != nil {
				return
			}
			d = New(t.TempDir(), Options{})
			mustSave(t, d, tt.lineage, good)
			if _, err := d.Save(tt.lineage, tt.bundle, meta); err == nil {
				t.Fatal("Save over an existing lineage succeeded")
			}
			entries, err := os.ReadDir(filepath.Join(d.Root(), "archive", tt.lineage))
			if err != nil || len(entries) != len(kinds) {
				t.Errorf("archive holds %d entries after a refused Save (%v), want %d", len(entries), err, len(kinds))
			}
			if l, err := d.Load(tt.lineage); err != nil || l.Version != 1 {
				t.Errorf("after a refused Save, Load = %v, %v; want version 1", l, err)
			}
		})
	}
}

// checkNoKeyMaterial fails if err mentions any line of a PEM private key.
func checkNoKeyMaterial(t *testing.T, err error, key []byte) {
	t.Helper()
	if err == nil {
		return
	}
	for line := range strings.Lines(string(key)) {
		line = strings.TrimSpace(line)
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") && strings.Contains(err.Error(), line) {
			t.Errorf("error %q contains key material", err)
		}
	}
}

func TestSaveLeafWithChainInCert(t *testing.T) {
	d := New(t.TempDir(), Options{})
	b := testBundle(t, bundleOpts{})
	bundled := cert.Bundle{Cert: b.Fullchain(), PrivateKey: b.PrivateKey}
	mustSave(t, d, "example.com", bundled)
	for kind, want := range map[string][]byte{"cert": b.Cert, "chain": b.Chain, "fullchain": b.Fullchain()} {
		got, err := os.ReadFile(filepath.Join(d.LivePath("example.com"), kind+".pem"))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s.pem does not hold the expected certificates (%v)", kind, err)
		}
	}
}

func TestSaveStaysInsideRoot(t *testing.T) {
	outside := t.TempDir()
	d := New(t.TempDir(), Options{})
	if err := os.MkdirAll(filepath.Join(d.Root(), "archive"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(d.Root(), "archive", "example.com")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Save("example.com", testBundle(t, bundleOpts{}), testMeta()); err == nil {
		t.Error("Save followed archive/example.com outside the root")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("Save wrote %d files outside the root", len(entries))
	}
}

func TestSaveConcurrent(t *testing.T) {
	d := New(t.TempDir(), Options{})
	const perName = 4
	names := []string{"a.example.com", "b.example.com"}
	bundles := make([]cert.Bundle, perName)
	for i := range bundles {
		bundles[i] = testBundle(t, bundleOpts{})
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		versions = map[string][]int{}
	)
	for _, name := range names {
		for _, b := range bundles {
			wg.Go(func() {
				l, err := d.Save(name, b, testMeta())
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				versions[name] = append(versions[name], l.Version)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	for _, name := range names {
		got := versions[name]
		slices.Sort(got)
		if want := []int{1, 2, 3, 4}; !slices.Equal(got, want) {
			t.Errorf("%s: versions %v, want %v", name, got, want)
		}
		if _, err := d.Load(name); err != nil {
			t.Errorf("Load(%s) after concurrent saves: %v", name, err)
		}
	}
	if got, err := d.Names(); err != nil || !slices.Equal(got, names) {
		t.Errorf("Names() = %q, %v; want %q", got, err, names)
	}
}

func TestNames(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "missing"), Options{})
	if got, err := d.Names(); err != nil || len(got) != 0 {
		t.Errorf("Names() of a missing store = %q, %v", got, err)
	}
	for _, n := range []string{"z.example.com", "a.example.com"} {
		mustSave(t, d, n, testBundle(t, bundleOpts{}))
	}
	for _, junk := range []string{"live/UPPER.example.com/", "live/stray-file", "live/.hidden/"} {
		p := filepath.Join(d.Root(), junk)
		var err error
		if strings.HasSuffix(junk, "/") {
			err = os.MkdirAll(p, 0o750)
		} else {
			err = os.WriteFile(p, nil, 0o640)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Names()
	if want := []string{"a.example.com", "z.example.com"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Names() = %q, %v; want %q", got, err, want)
	}
}

func TestRootAndLivePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	d := New("le", Options{})
	if want := filepath.Join(dir, "le"); d.Root() != want {
		t.Errorf("Root() = %q, want %q", d.Root(), want)
	}
	if want := filepath.Join(dir, "le", "live", "example.com"); d.LivePath("example.com") != want {
		t.Errorf("LivePath() = %q, want %q", d.LivePath("example.com"), want)
	}
}

func TestSaveOverRegularFiles(t *testing.T) {
	d := New(t.TempDir(), Options{})
	old := testBundle(t, bundleOpts{})
	dir := d.LivePath("example.com")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for kind, data := range map[string][]byte{"cert": old.Cert, "chain": old.Chain, "fullchain": old.Fullchain(), "privkey": old.PrivateKey} {
		write(t, filepath.Join(dir, kind+".pem"), data)
	}
	l := mustSave(t, d, "example.com", testBundle(t, bundleOpts{}))
	if l.Version != 1 {
		t.Errorf("Version = %d, want 1", l.Version)
	}
	if got := linkVersions(t, d, "example.com"); got != allAt(1) {
		t.Errorf("links at %v, want all at 1", got)
	}
}
