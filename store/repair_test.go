package store

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRepair(t *testing.T) {
	const name = "example.com"
	type want struct {
		repaired []string
		links    map[string][len(kinds)]int // by lineage; -1: not a numbered link
		err      string                     // substring of the error; "" for none
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, d *Dir)
		want  want
	}{
		{
			name:  "healthy lineage untouched",
			setup: func(t *testing.T, d *Dir) { saveVersions(t, d, name, 2) },
			want:  want{links: map[string][len(kinds)]int{name: allAt(2)}},
		},
		{
			name: "crash after cert and chain moved",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				pointLink(t, d, name, "privkey", 1)
				pointLink(t, d, name, "fullchain", 1)
			},
			want: want{repaired: []string{name}, links: map[string][len(kinds)]int{name: allAt(2)}},
		},
		{
			name: "newest version incomplete",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				remove(t, archivePath(d, name, "privkey", 2))
				for _, kind := range []string{"chain", "fullchain", "privkey"} {
					pointLink(t, d, name, kind, 1)
				}
			},
			want: want{repaired: []string{name}, links: map[string][len(kinds)]int{name: allAt(1)}},
		},
		{
			name: "all links at an incomplete version",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 3)
				write(t, archivePath(d, name, "privkey", 3), testBundle(t, bundleOpts{}).PrivateKey)
			},
			want: want{repaired: []string{name}, links: map[string][len(kinds)]int{name: allAt(2)}},
		},
		{
			name: "crash before the first links",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				for _, kind := range kinds {
					remove(t, filepath.Join(d.LivePath(name), kind+".pem"))
				}
			},
			want: want{repaired: []string{name}, links: map[string][len(kinds)]int{name: allAt(1)}},
		},
		{
			name: "links in another form",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				p := filepath.Join(d.LivePath(name), "cert.pem")
				remove(t, p)
				if err := os.Symlink(archivePath(d, name, "cert", 2), p); err != nil {
					t.Fatal(err)
				}
			},
			want: want{repaired: []string{name}, links: map[string][len(kinds)]int{name: allAt(2)}},
		},
		{
			name: "consistent older complete version kept",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 2)
				for _, kind := range kinds {
					pointLink(t, d, name, kind, 1)
				}
			},
			want: want{links: map[string][len(kinds)]int{name: allAt(1)}},
		},
		{
			name: "leftover temporary files",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				if err := os.Symlink("../../archive/example.com/cert2.pem", filepath.Join(d.LivePath(name), ".cert.pem.tmp-abc")); err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(d.Root(), "archive", name, ".privkey2.pem.tmp-xyz"), []byte("partial"))
				write(t, filepath.Join(d.Root(), "renewal", ".example.com.conf.tmp-1"), []byte("partial"))
			},
			want: want{links: map[string][len(kinds)]int{name: allAt(1)}},
		},
		{
			name: "regular files left alone",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				for _, kind := range kinds {
					p := filepath.Join(d.LivePath(name), kind+".pem")
					data, err := os.ReadFile(p)
					if err != nil {
						t.Fatal(err)
					}
					remove(t, p)
					write(t, p, data)
				}
			},
			want: want{links: map[string][len(kinds)]int{name: {-1, -1, -1, -1}}},
		},
		{
			name: "one lineage beyond repair, another repaired",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, "broken.example.com", 1)
				remove(t, archivePath(d, "broken.example.com", "cert", 1))
				saveVersions(t, d, name, 2)
				pointLink(t, d, name, "cert", 1)
			},
			want: want{
				repaired: []string{name},
				links: map[string][len(kinds)]int{
					name:                 allAt(2),
					"broken.example.com": {1, 1, 1, 1},
				},
				err: "broken.example.com: no complete version in archive/broken.example.com",
			},
		},
		{
			name: "regular files mixed with links",
			setup: func(t *testing.T, d *Dir) {
				saveVersions(t, d, name, 1)
				p := filepath.Join(d.LivePath(name), "chain.pem")
				remove(t, p)
				write(t, p, nil)
			},
			want: want{links: map[string][len(kinds)]int{name: {1, -1, 1, 1}}, err: "mixes regular files and links"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			tt.setup(t, d)
			archiveBefore := archiveFiles(t, d)

			repaired, err := d.Repair()
			if !slices.Equal(repaired, tt.want.repaired) {
				t.Errorf("repaired %q, want %q", repaired, tt.want.repaired)
			}
			switch {
			case tt.want.err == "" && err != nil:
				t.Errorf("Repair error: %v", err)
			case tt.want.err != "" && (err == nil || !strings.Contains(err.Error(), tt.want.err)):
				t.Errorf("Repair error = %v, want one containing %q", err, tt.want.err)
			}
			for lineage, wantLinks := range tt.want.links {
				if got := linkVersions(t, d, lineage); got != wantLinks {
					t.Errorf("%s links at %v, want %v", lineage, got, wantLinks)
				}
			}
			for _, n := range tt.want.repaired {
				if _, err := d.Load(n); err != nil {
					t.Errorf("Load(%s) after Repair: %v", n, err)
				}
			}
			if got := archiveFiles(t, d); !slices.Equal(got, archiveBefore) {
				t.Errorf("archive changed: %q, was %q", got, archiveBefore)
			}
			if tmp := tempFiles(t, d); len(tmp) > 0 {
				t.Errorf("temporary files left: %q", tmp)
			}

			// A second pass has nothing left to do.
			again, _ := d.Repair()
			if len(again) != 0 {
				t.Errorf("second Repair repaired %q", again)
			}
		})
	}
}

func TestRepairEmptyStore(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "missing"), Options{})
	if repaired, err := d.Repair(); err != nil || len(repaired) != 0 {
		t.Errorf("Repair of a missing store = %q, %v", repaired, err)
	}
}

// saveVersions saves n fresh bundles as versions 1..n of name.
func saveVersions(t *testing.T, d *Dir, name string, n int) {
	t.Helper()
	for range n {
		mustSave(t, d, name, testBundle(t, bundleOpts{}))
	}
}

// archiveFiles lists the non-temporary files under archive/, relative to it.
func archiveFiles(t *testing.T, d *Dir) []string {
	t.Helper()
	var out []string
	base := filepath.Join(d.Root(), "archive")
	filepath.WalkDir(base, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && !isTempName(e.Name()) {
			rel, _ := filepath.Rel(base, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// tempFiles lists leftover temporary files anywhere in the store.
func tempFiles(t *testing.T, d *Dir) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(d.Root(), func(p string, e os.DirEntry, err error) error {
		if err == nil && isTempName(e.Name()) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// A start-up after a verified one does not parse unchanged versions again
// (the memo), yet a version damaged since is still found and repaired.
func TestRepairMemo(t *testing.T) {
	const name = "example.com"
	d := settledClock(New(filepath.Join(t.TempDir(), "le"), Options{}))
	saveVersions(t, d, name, 3)
	old := filepath.Join(d.root, "certdock", "verified.json") // as an older certdock kept it
	if err := os.MkdirAll(filepath.Dir(old), 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, old, []byte(`{"example.com":{"version":3,"stamps":"1:2:3:4;"}}`))
	if repaired, err := d.Repair(); err != nil || len(repaired) != 0 {
		t.Fatalf("first repair: %v, %v", repaired, err)
	}
	data, err := os.ReadFile(filepath.Join(d.root, "certdock", "verified"))
	if err != nil || !strings.Contains(string(data), "\nexample.com 3 1 ") {
		t.Fatalf("verified memo: %s, %v", data, err)
	}
	if strings.Contains(string(data), "PRIVATE") {
		t.Fatal("the memo holds key material")
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("the JSON memo was left behind: %v", err)
	}
	// Damage the verified version after the fact: a different key (at
	// least a clock tick after it was written: file times have a tick's
	// granularity).
	time.Sleep(20 * time.Millisecond)
	write(t, archivePath(d, name, "privkey", 3), testBundle(t, bundleOpts{}).PrivateKey)
	repaired, err := d.Repair()
	if err != nil || !slices.Equal(repaired, []string{name}) {
		t.Fatalf("repair after damage: %v, %v", repaired, err)
	}
	if got := linkVersions(t, d, name); got != allAt(2) {
		t.Fatalf("links at %v, want version 2", got)
	}
	data, _ = os.ReadFile(filepath.Join(d.root, "certdock", "verified"))
	if !strings.Contains(string(data), "\nexample.com 2 1 ") {
		t.Fatalf("memo not updated: %s", data)
	}
}

// Lineages are repaired side by side: each is checked once, the repaired
// ones are reported in name order, and the memo holds every healthy one.
func TestRepairManyLineages(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "le"), Options{})
	var want []string
	for i := range 24 {
		name := fmt.Sprintf("n%02d.example.com", i)
		saveVersions(t, d, name, 2)
		if i%3 == 0 {
			pointLink(t, d, name, "privkey", 1)
			want = append(want, name)
		}
	}
	repaired, err := d.Repair()
	if err != nil || !slices.Equal(repaired, want) {
		t.Fatalf("Repair = %v, %v; want %v", repaired, err, want)
	}
	memo := loadVerifiedFile(t, d.Root())
	for i := range 24 {
		name := fmt.Sprintf("n%02d.example.com", i)
		if got := linkVersions(t, d, name); got != allAt(2) {
			t.Errorf("%s: links at %v", name, got)
		}
		if memo[name].Version != 2 {
			t.Errorf("%s: memo %+v", name, memo[name])
		}
	}
}
