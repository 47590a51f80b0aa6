package store

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
)

// settledClock makes every file time look more than a second old to d, as
// a start-up over lineages written long before sees them, without
// sleeping; changes made afterwards still get new stamps.
func settledClock(d *Dir) *Dir {
	d.now = func() time.Time { return time.Now().Add(2 * time.Second) }
	return d
}

// newProcess is the store as a new certdock process sees it: a fresh Dir
// (empty cache, nothing vouched) after its start-up Repair.
func newProcess(t *testing.T, root string) *Dir {
	t.Helper()
	d := settledClock(New(root, Options{}))
	if repaired, err := d.Repair(); err != nil || len(repaired) != 0 {
		t.Fatalf("start-up repair: %v, %v", repaired, err)
	}
	return d
}

// sameLineage fails unless got is want field by field.
func sameLineage(t *testing.T, got, want *cert.Lineage) {
	t.Helper()
	switch {
	case got.Name != want.Name, got.Version != want.Version, got.Server != want.Server, got.KeyType != want.KeyType,
		!got.NotBefore.Equal(want.NotBefore), !got.NotAfter.Equal(want.NotAfter),
		strings.Join(got.Domains, ",") != strings.Join(want.Domains, ","),
		!bytes.Equal(got.CertPEM, want.CertPEM), !got.Leaf.Equal(want.Leaf):
		t.Fatalf("lineage\n got %+v\nwant %+v", got, want)
	}
}

// The first Load after a start-up that verified a lineage reads only its
// certificate, and returns what reading everything returns.
func TestVouchedLoadIsTheLongLoad(t *testing.T) {
	const name = "example.com"
	root := filepath.Join(t.TempDir(), "le")
	saveVersions(t, New(root, Options{}), name, 2)
	newProcess(t, root) // verifies, and leaves the memo
	for _, tc := range []struct {
		name string
		d    *Dir
	}{
		{"lineage verified by this start-up", func() *Dir {
			d := settledClock(New(root, Options{}))
			if err := os.Remove(filepath.Join(root, filepath.FromSlash(verifiedPath))); err != nil {
				t.Fatal(err)
			}
			d.Repair()
			return d
		}()},
		{"lineage found verified by an earlier one", newProcess(t, root)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.d
			d.cacheMu.Lock()
			v, vr := d.vouched[name], d.vouchRoot
			d.cacheMu.Unlock()
			if !v.trusted || v.version != 2 || v.server != testMeta().Server {
				t.Fatalf("vouched %+v, want version 2 trusted with its server", v)
			}
			fp, ok := d.stampPaths(name).fingerprint(false)
			if !ok || fp.dir != v.live {
				t.Fatalf("live directory %+v, vouched at %+v", fp.dir, v.live)
			}
			long, err := d.loadLong(name, 0)
			if err != nil {
				t.Fatal(err)
			}
			if vr == nil {
				if hasOpenat2(root) {
					t.Fatal("no root kept for Load")
				}
				return
			}
			switch quick := loadVouched(vr, name, v, fp); {
			case quick != nil:
				sameLineage(t, quick, long)
			case hasOpenat2(root):
				t.Fatal("loadVouched declined an unchanged lineage")
			}
			l, err := d.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			sameLineage(t, l, long)
		})
	}
}

// Whatever changes behind certdock's back after a start-up vouched for a
// lineage, before its first Load or between two, Load sees it.
func TestVouchedLoadSeesChanges(t *testing.T) {
	const name = "example.com"
	type change struct {
		name  string
		apply func(t *testing.T, d *Dir)
		check func(t *testing.T, l *cert.Lineage, err error)
		// archiveOnly: the change is to an archive file in place, which
		// Load's cache does not look at (it stats the live directory and
		// the renewal file; certdock never rewrites archive files), so it
		// is tested before the first Load only.
		archiveOnly bool
	}
	var newCert []byte // the certificate the first change writes
	changes := []change{
		{
			name: "certificate rewritten in place with another of the same size",
			apply: func(t *testing.T, d *Dir) {
				p := archivePath(d, name, "cert", 2)
				newCert = sameSizeCert(t, readFile(t, p))
				rewriteInPlace(t, p, newCert)
			},
			check: func(t *testing.T, l *cert.Lineage, err error) {
				if err != nil || !bytes.Equal(l.CertPEM, newCert) {
					t.Fatalf("the rewritten certificate was not seen: %v", err)
				}
			},
			archiveOnly: true,
		},
		{
			name:  "one live link retargeted",
			apply: func(t *testing.T, d *Dir) { pointLink(t, d, name, "cert", 1) },
			check: func(t *testing.T, l *cert.Lineage, err error) {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("links at two versions: %+v, %v", l, err)
				}
			},
		},
		{
			name: "every live link moved to the older version",
			apply: func(t *testing.T, d *Dir) {
				for _, kind := range kinds {
					pointLink(t, d, name, kind, 1)
				}
			},
			check: func(t *testing.T, l *cert.Lineage, err error) {
				if err != nil || l.Version != 1 {
					t.Fatalf("links at version 1: %+v, %v", l, err)
				}
			},
		},
		{
			name: "renewal server edited in place, same size",
			apply: func(t *testing.T, d *Dir) {
				p := filepath.Join(d.Root(), "renewal", name+".conf")
				rewriteInPlace(t, p, bytes.Replace(readFile(t, p), []byte("acme.example.test"), []byte("acme.example.tesu"), 1))
			},
			check: func(t *testing.T, l *cert.Lineage, err error) {
				if err != nil || l.Server != "https://acme.example.tesu/directory" {
					t.Fatalf("edited server not seen: %+v, %v", l, err)
				}
			},
		},
		{
			name: "renewal file replaced",
			apply: func(t *testing.T, d *Dir) {
				p := filepath.Join(d.Root(), "renewal", name+".conf")
				write(t, p+".new", []byte("[renewalparams]\nserver = https://other.example/dir\n"))
				if err := os.Rename(p+".new", p); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, l *cert.Lineage, err error) {
				if err != nil || l.Server != "https://other.example/dir" {
					t.Fatalf("replaced renewal file not seen: %+v, %v", l, err)
				}
			},
		},
		{
			name:  "renewal file removed",
			apply: func(t *testing.T, d *Dir) { remove(t, filepath.Join(d.Root(), "renewal", name+".conf")) },
			check: func(t *testing.T, l *cert.Lineage, err error) {
				if err != nil || l.Server != "" {
					t.Fatalf("removed renewal file: %+v, %v", l, err)
				}
			},
		},
		{
			name: "lineage removed",
			apply: func(t *testing.T, d *Dir) {
				if err := os.RemoveAll(d.LivePath(name)); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, l *cert.Lineage, err error) {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("removed lineage: %+v, %v", l, err)
				}
			},
		},
	}
	for _, loadFirst := range []bool{false, true} {
		for _, c := range changes {
			if loadFirst && c.archiveOnly {
				continue
			}
			t.Run(c.name+map[bool]string{false: ", before the first load", true: ", after a load"}[loadFirst], func(t *testing.T) {
				root := filepath.Join(t.TempDir(), "le")
				saveVersions(t, New(root, Options{}), name, 2)
				newProcess(t, root)
				d := newProcess(t, root)
				if loadFirst {
					if l, err := d.Load(name); err != nil || l.Version != 2 {
						t.Fatalf("load before the change: %+v, %v", l, err)
					}
				}
				time.Sleep(10 * time.Millisecond) // a distinct change time even on coarse clocks
				c.apply(t, d)
				l, err := d.Load(name)
				c.check(t, l, err)
			})
		}
	}
}

// A verified version damaged before a start-up is checked again by it,
// even though the live directory did not change: here its certificate is
// replaced in place by one its key does not match, and Repair moves the
// links back to the version before.
func TestVouchedDamageBeforeStartup(t *testing.T) {
	const name = "example.com"
	root := filepath.Join(t.TempDir(), "le")
	d := New(root, Options{})
	saveVersions(t, d, name, 2)
	newProcess(t, root)
	time.Sleep(10 * time.Millisecond)
	p := archivePath(d, name, "cert", 2)
	rewriteInPlace(t, p, sameSizeCert(t, readFile(t, p)))
	d = settledClock(New(root, Options{}))
	if repaired, err := d.Repair(); err != nil || len(repaired) != 1 {
		t.Fatalf("repair after damage: %v, %v", repaired, err)
	}
	if l, err := d.Load(name); err != nil || l.Version != 1 {
		t.Fatalf("after repair: %+v, %v", l, err)
	}
}

// An entry stamped within a second of a change is not trusted: the next
// start-up checks the lineage fully, and Load reads it the long way.
func TestVouchedUnsettledNotTrusted(t *testing.T) {
	const name = "example.com"
	root := filepath.Join(t.TempDir(), "le")
	saveVersions(t, New(root, Options{}), name, 1)
	d := New(root, Options{}) // the real clock: the files are fresh
	if _, err := d.Repair(); err != nil {
		t.Fatal(err)
	}
	memo := loadVerifiedFile(t, root)
	if e := memo[name]; e.Version != 1 || e.Settled || e.Renewal != "" {
		t.Fatalf("memo entry of a fresh lineage: %+v", e)
	}
	if v := d.vouched[name]; v.version != 1 || v.trusted {
		t.Fatalf("vouched %+v, want version 1 untrusted", v)
	}
	if l, err := d.Load(name); err != nil || l.Version != 1 || l.Server != testMeta().Server {
		t.Fatalf("load: %+v, %v", l, err)
	}
	d = newProcess(t, root) // settled now: checked fully, then trusted
	if e := loadVerifiedFile(t, root)[name]; !e.Settled || e.Server != testMeta().Server || e.Renewal == "" {
		t.Fatalf("memo entry after a settled check: %+v", e)
	}
	if v := d.vouched[name]; !v.trusted {
		t.Fatalf("vouched %+v, want trusted", v)
	}
}

// hasOpenat2 reports whether this system reads the quick way.
func hasOpenat2(root string) bool {
	b, ok := openBeneath(root)
	if ok {
		b.close()
	}
	return ok
}

func loadVerifiedFile(t *testing.T, root string) verifiedMemo {
	t.Helper()
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return loadVerified(r)
}

// sameSizeCert returns another test certificate whose PEM is as long as
// old (ECDSA signatures and serial numbers vary in length by a byte).
func sameSizeCert(t *testing.T, old []byte) []byte {
	t.Helper()
	for range 200 {
		c := testBundle(t, bundleOpts{}).Cert
		if len(c) == len(old) && !bytes.Equal(c, old) {
			return c
		}
	}
	t.Fatal("no certificate of the same size")
	return nil
}

// rewriteInPlace overwrites the file at p (same inode) with data.
func rewriteInPlace(t *testing.T, p string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
