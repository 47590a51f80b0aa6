package store

import (
	"path/filepath"
	"testing"
)

// quickCheck takes the same stamps as the memo check compares, and
// declines every lineage it cannot vouch for as it is.
func TestQuickCheck(t *testing.T) {
	const name = "example.com"
	tests := []struct {
		name    string
		setup   func(t *testing.T, d *Dir)
		ok, pfx bool
	}{
		{name: "healthy", setup: func(*testing.T, *Dir) {}, ok: true},
		{name: "with a PFX link", setup: func(t *testing.T, d *Dir) {
			if err := d.WritePFX(name, PFXOptions{}); err != nil {
				t.Fatal(err)
			}
		}, ok: true, pfx: true},
		{name: "temporary file in live", setup: func(t *testing.T, d *Dir) {
			write(t, filepath.Join(d.LivePath(name), ".cert.pem.tmp-x"), nil)
		}},
		{name: "temporary file in archive", setup: func(t *testing.T, d *Dir) {
			write(t, filepath.Join(d.Root(), "archive", name, ".cert3.pem.tmp-x"), nil)
		}},
		{name: "links at two versions", setup: func(t *testing.T, d *Dir) { pointLink(t, d, name, "chain", 1) }},
		{name: "key does not match", setup: func(t *testing.T, d *Dir) {
			write(t, archivePath(d, name, "privkey", 2), testBundle(t, bundleOpts{}).PrivateKey)
		}},
		{name: "fullchain starting with another certificate", setup: func(t *testing.T, d *Dir) {
			write(t, archivePath(d, name, "fullchain", 2), testBundle(t, bundleOpts{}).Fullchain())
		}},
		{name: "fullchain starting with a key", setup: func(t *testing.T, d *Dir) {
			p := archivePath(d, name, "fullchain", 2)
			write(t, p, append(testBundle(t, bundleOpts{}).PrivateKey, readFile(t, p)...))
		}},
		{name: "chain missing", setup: func(t *testing.T, d *Dir) { remove(t, archivePath(d, name, "chain", 2)) }},
		{name: "live file regular", setup: func(t *testing.T, d *Dir) {
			p := filepath.Join(d.LivePath(name), "cert.pem")
			data := readFile(t, p)
			remove(t, p)
			write(t, p, data)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := settledClock(New(filepath.Join(t.TempDir(), "le"), Options{}))
			saveVersions(t, d, name, 2)
			tt.setup(t, d)
			b, ok := openBeneath(d.Root())
			if !ok {
				t.Skip("no openat2 here")
			}
			defer b.close()
			now := d.now()
			e, live, pfx, ok := d.quickCheck(b, name, now)
			if ok != tt.ok || pfx != tt.pfx {
				t.Fatalf("quickCheck ok %v, pfx %v; want %v, %v", ok, pfx, tt.ok, tt.pfx)
			}
			if !ok {
				return
			}
			want, settled, _ := d.stampsOf(name, 2, live, now)
			if rel, _, _ := d.stampsIn(b, true, name, 2, live, now); rel != want {
				t.Fatalf("stamps relative to the root %s, by path %s", rel, want)
			}
			if wantLive, _ := d.liveStamp(name); live != wantLive || e.Version != 2 || e.Stamps != want || e.Settled != settled || !settled {
				t.Fatalf("quickCheck %+v (live %+v)\nwant stamps %s (settled %v)", e, live, want, settled)
			}
		})
	}
}
