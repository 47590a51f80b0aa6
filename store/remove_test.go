package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRemove(t *testing.T) {
	const name, other = "example.com", "other.example.com"
	tests := []struct {
		name    string
		setup   func(t *testing.T, d *Dir, outside string)
		wantErr bool
	}{
		{
			name: "complete lineage with pfx",
			setup: func(t *testing.T, d *Dir, outside string) {
				saveVersions(t, d, name, 2)
				if err := d.WritePFX(name, PFXOptions{}); err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(d.Root(), "renewal", ".example.com.conf.tmp-crash"), []byte("partial"))
			},
		},
		{
			name: "live already gone",
			setup: func(t *testing.T, d *Dir, outside string) {
				saveVersions(t, d, name, 1)
				remove(t, d.LivePath(name)+"/README")
				for _, kind := range kinds {
					remove(t, filepath.Join(d.LivePath(name), kind+".pem"))
				}
				remove(t, d.LivePath(name))
			},
		},
		{
			name: "only the renewal file left",
			setup: func(t *testing.T, d *Dir, outside string) {
				saveVersions(t, d, name, 1)
				for _, dir := range []string{d.LivePath(name), filepath.Join(d.Root(), "archive", name)} {
					if err := os.RemoveAll(dir); err != nil {
						t.Fatal(err)
					}
				}
			},
		},
		{name: "nothing to remove", setup: func(t *testing.T, d *Dir, outside string) {}},
		{
			name: "live dir is a link out of the root",
			setup: func(t *testing.T, d *Dir, outside string) {
				saveVersions(t, d, name, 1)
				if err := os.RemoveAll(d.LivePath(name)); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(outside, d.LivePath(name)); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "archive holds links out of the root",
			setup: func(t *testing.T, d *Dir, outside string) {
				saveVersions(t, d, name, 1)
				arch := filepath.Join(d.Root(), "archive", name)
				if err := os.Symlink(filepath.Join(outside, "keep.pem"), filepath.Join(arch, "cert9.pem")); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(outside, filepath.Join(arch, "subdir")); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "archive/ itself is a link out of the root",
			setup: func(t *testing.T, d *Dir, outside string) {
				saveVersions(t, d, name, 1)
				arch := filepath.Join(d.Root(), "archive")
				mkdir(t, filepath.Join(outside, name))
				write(t, filepath.Join(outside, name, "cert1.pem"), []byte("keep"))
				if err := os.RemoveAll(filepath.Join(arch, name)); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(filepath.Join(arch, other), filepath.Join(outside, other)); err != nil {
					t.Fatal(err)
				}
				remove(t, arch)
				if err := os.Symlink(outside, arch); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			outside := t.TempDir()
			write(t, filepath.Join(outside, "keep.pem"), []byte("keep"))
			saveVersions(t, d, other, 1)
			tt.setup(t, d, outside)
			outsideBefore := treeOf(t, outside)

			err := d.Remove(name)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Remove error = %v, want error: %t", err, tt.wantErr)
			}
			if got := treeOf(t, outside); !slices.Equal(got, outsideBefore) {
				t.Errorf("files outside the root changed: %q, were %q", got, outsideBefore)
			}
			if !tt.wantErr {
				for _, p := range []string{d.LivePath(name), filepath.Join(d.Root(), "archive", name), filepath.Join(d.Root(), "renewal", name+".conf")} {
					if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("%s still there: %v", p, err)
					}
				}
				if _, err := d.Load(name); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Load after Remove = %v, want fs.ErrNotExist", err)
				}
				if names, err := d.Names(); err != nil || !slices.Equal(names, []string{other}) {
					t.Errorf("Names after Remove = %q, %v", names, err)
				}
				if tmp := tempFiles(t, d); len(tmp) > 0 {
					t.Errorf("temporary files left: %q", tmp)
				}
			}
			if _, err := d.Load(other); err != nil && !tt.wantErr {
				t.Errorf("the other lineage was damaged: %v", err)
			}
			if _, err := os.Stat(filepath.Join(d.Root(), "renewal", other+".conf")); err != nil {
				t.Errorf("the other renewal file was damaged: %v", err)
			}

			// Running it again is harmless.
			if err := d.Remove(name); (err != nil) != tt.wantErr {
				t.Errorf("second Remove = %v", err)
			}
		})
	}
}

func TestRemoveInvalidName(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "le"), Options{})
	saveVersions(t, d, "example.com", 1)
	for _, name := range []string{"", ".", "..", "../le", "a/b", "/etc", "Example.com", "-x"} {
		if err := d.Remove(name); err == nil {
			t.Errorf("Remove(%q) succeeded", name)
		}
	}
	if _, err := d.Load("example.com"); err != nil {
		t.Errorf("Load after refused removals: %v", err)
	}
}

func TestRemoveMissingStore(t *testing.T) {
	if err := New(filepath.Join(t.TempDir(), "missing"), Options{}).Remove("example.com"); err != nil {
		t.Errorf("Remove in a missing store = %v", err)
	}
}

// treeOf lists every path under dir, relative to it, with link targets.
func treeOf(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if target, err := os.Readlink(p); err == nil {
			rel += " -> " + target
		}
		out = append(out, rel)
		return nil
	})
	return out
}
