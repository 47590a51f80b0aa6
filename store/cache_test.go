package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
)

// Load's in-memory cache must never hide a change on disk.
func TestLoadCacheSeesEveryChange(t *testing.T) {
	d := New(t.TempDir(), Options{})
	name := "cache.example.com"
	mustSave(t, d, name, testBundle(t, bundleOpts{domains: []string{name}}))
	first, err := d.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	again, err := d.Load(name)
	if err != nil || again.Version != first.Version || !again.Leaf.Equal(first.Leaf) {
		t.Fatalf("second load: %+v, %v", again, err)
	}
	again.Domains[0] = "changed.example.com" // a caller's copy, not the cache's
	again.Version = 99
	if l, _ := d.Load(name); l.Version != first.Version || l.Domains[0] != name {
		t.Fatalf("a caller's change leaked into the cache: %+v", l)
	}

	t.Run("new version", func(t *testing.T) {
		mustSave(t, d, name, testBundle(t, bundleOpts{domains: []string{name, "www." + name}}))
		l, err := d.Load(name)
		if err != nil || l.Version != first.Version+1 || len(l.Domains) != 2 {
			t.Fatalf("after Save: %+v, %v", l, err)
		}
	})
	t.Run("key replaced in place", func(t *testing.T) {
		l, _ := d.Load(name)
		other := testBundle(t, bundleOpts{domains: []string{name}})
		p := archivePath(d, name, "privkey", l.Version)
		time.Sleep(10 * time.Millisecond) // a distinct modification time even on coarse clocks
		if err := os.WriteFile(p, other.PrivateKey, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Load(name); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("a key that no longer matches was served from the cache: %v", err)
		}
	})
	t.Run("link moved", func(t *testing.T) {
		l, _ := d.Load(name) // still corrupt: the next subtest repairs by pointing back
		_ = l
		pointLink(t, d, name, "privkey", first.Version)
		if _, err := d.Load(name); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("links at different versions were served from the cache: %v", err)
		}
	})
	t.Run("removed", func(t *testing.T) {
		if err := os.RemoveAll(filepath.Join(d.Root(), "live", name)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Load(name); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a removed lineage was served from the cache: %v", err)
		}
	})
}

// BenchmarkLoadUnchanged measures Load of an unchanged lineage (the
// daemon's no-op pass), served from the cache after the first read.
func BenchmarkLoadUnchanged(b *testing.B) {
	d := New(b.TempDir(), Options{})
	mustSave(b, d, "bench.example.com", testBundle(b, bundleOpts{domains: []string{"bench.example.com"}}))
	for b.Loop() {
		if _, err := d.Load("bench.example.com"); err != nil {
			b.Fatal(err)
		}
	}
}

var _ = cert.EC256
