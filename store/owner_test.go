//go:build unix

package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// nobody is the uid and gid of nobody/nogroup on Debian.
const nobody = 65534

// needRoot skips a test that changes owners when it cannot.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("changing file owners needs root (CAP_CHOWN); run the tests as root to cover ownership")
	}
}

// ownerAt returns the owner and group of p itself (not a link's target).
func ownerAt(t *testing.T, p string) (uid, gid int) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

func TestApplyOwnership(t *testing.T) {
	const name = "example.com"
	uid0, gid0 := os.Geteuid(), os.Getegid()
	tests := []struct {
		name     string
		own      Ownership
		opts     Options
		needRoot bool
		wantUID  int
		wantGID  int
	}{
		{name: "user and group", own: Ownership{UID: nobody, GID: nobody}, needRoot: true, wantUID: nobody, wantGID: nobody},
		{name: "group only", own: Ownership{UID: -1, GID: nobody}, needRoot: true, wantUID: uid0, wantGID: nobody},
		{name: "user only, open modes", own: Ownership{UID: nobody, GID: -1}, opts: Options{DirMode: 0o755, FileMode: 0o644}, needRoot: true, wantUID: nobody, wantGID: gid0},
		{name: "modes only", own: Ownership{UID: -1, GID: -1}, opts: Options{DirMode: 0o700, FileMode: 0o600}, wantUID: uid0, wantGID: gid0},
		{name: "own ids", own: Ownership{UID: uid0, GID: gid0}, wantUID: uid0, wantGID: gid0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needRoot {
				needRoot(t)
			}
			d := New(filepath.Join(t.TempDir(), "le"), tt.opts)
			saveVersions(t, d, name, 2)
			if err := d.WritePFX(name, PFXOptions{}); err != nil {
				t.Fatal(err)
			}
			saveVersions(t, d, "other.example.com", 1)
			outside := filepath.Join(t.TempDir(), "outside")
			write(t, outside, nil)
			if err := os.Symlink(outside, filepath.Join(d.Root(), "archive", name, "stray-link")); err != nil {
				t.Fatal(err)
			}
			// Modes drifted since the files were written.
			for p, mode := range map[string]fs.FileMode{
				filepath.Join(d.Root(), "live"):                       0o777,
				filepath.Join(d.Root(), "archive", name):              0o711,
				archivePath(d, name, "privkey", 1):                    0o666,
				filepath.Join(d.Root(), "live", "README"):             0o600,
				filepath.Join(d.Root(), "archive", name, "cert2.pfx"): 0o644 | fs.ModeSetuid,
			} {
				if err := os.Chmod(p, mode); err != nil {
					t.Fatal(err)
				}
			}
			otherKey := archivePath(d, "other.example.com", "privkey", 1)
			if err := os.Chmod(otherKey, 0o666); err != nil {
				t.Fatal(err)
			}

			if err := d.ApplyOwnership(name, tt.own); err != nil {
				t.Fatalf("ApplyOwnership: %v", err)
			}

			var covered []string
			for _, p := range []string{filepath.Join(d.Root(), "live"), filepath.Join(d.Root(), "archive"), filepath.Join(d.Root(), "live", "README")} {
				covered = append(covered, p)
			}
			for _, dir := range []string{d.LivePath(name), filepath.Join(d.Root(), "archive", name)} {
				filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
					if err != nil {
						t.Error(err)
					}
					covered = append(covered, p)
					return nil
				})
			}
			if len(covered) < 3+2+5+1+10 {
				t.Fatalf("only %d entries: %q", len(covered), covered)
			}
			for _, p := range covered {
				if uid, gid := ownerAt(t, p); uid != tt.wantUID || gid != tt.wantGID {
					t.Errorf("%s owned by %d:%d, want %d:%d", p, uid, gid, tt.wantUID, tt.wantGID)
				}
				fi, err := os.Lstat(p)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case fi.Mode()&fs.ModeSymlink != 0:
				case fi.IsDir():
					checkMode(t, p, fs.ModeDir|d.dirMode)
				default:
					checkMode(t, p, d.fileMode)
				}
			}
			if uid, gid := ownerAt(t, outside); uid != uid0 || gid != gid0 {
				t.Errorf("a link was followed out of the root: %s owned by %d:%d", outside, uid, gid)
			}
			if uid, gid := ownerAt(t, otherKey); uid != uid0 || gid != gid0 {
				t.Errorf("another lineage was changed: %s owned by %d:%d", otherKey, uid, gid)
			}
			checkMode(t, otherKey, 0o666)
			if _, err := d.Load(name); err != nil {
				t.Errorf("Load after ApplyOwnership: %v", err)
			}
		})
	}
}

func TestApplyOwnershipKeepsSetgid(t *testing.T) {
	const name = "example.com"
	d := New(filepath.Join(t.TempDir(), "le"), Options{})
	saveVersions(t, d, name, 1)
	dir := d.LivePath(name)
	if err := os.Chmod(dir, 0o777|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if err := d.ApplyOwnership(name, Ownership{UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	checkMode(t, dir, fs.ModeDir|0o750)
	if fi, err := os.Stat(dir); err != nil || fi.Mode()&fs.ModeSetgid == 0 {
		t.Errorf("set-group-ID bit dropped from %s: %v", dir, err)
	}
}

func TestApplyOwnershipErrors(t *testing.T) {
	tests := []struct {
		name    string
		lineage string
		setup   func(t *testing.T, d *Dir)
		is      error
	}{
		{name: "invalid name", lineage: "a/b"},
		{name: "no store", lineage: "example.com", is: fs.ErrNotExist},
		{
			name: "no such lineage", lineage: "example.com", is: fs.ErrNotExist,
			setup: func(t *testing.T, d *Dir) { saveVersions(t, d, "other.example.com", 1) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			if tt.setup != nil {
				tt.setup(t, d)
			}
			err := d.ApplyOwnership(tt.lineage, Ownership{UID: -1, GID: -1})
			if err == nil || tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("ApplyOwnership = %v, want an error wrapping %v", err, tt.is)
			}
		})
	}
}

func TestOptionsOwner(t *testing.T) {
	needRoot(t)
	const name = "example.com"
	uid0, gid0 := os.Geteuid(), os.Getegid()
	d := New(filepath.Join(t.TempDir(), "le"), Options{Owner: &Ownership{UID: nobody, GID: nobody}})
	saveVersions(t, d, name, 2)
	if err := d.WritePFX(name, PFXOptions{}); err != nil {
		t.Fatal(err)
	}
	s := NewState()
	s.Lineage(name).Owned = true
	if err := d.SaveState(s); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		path     string
		uid, gid int
	}{
		{"live", nobody, nobody},
		{"live/README", nobody, nobody},
		{"live/" + name, nobody, nobody},
		{"live/" + name + "/README", nobody, nobody},
		{"archive", nobody, nobody},
		{"archive/" + name, nobody, nobody},
		{"archive/" + name + "/privkey1.pem", nobody, nobody},
		{"archive/" + name + "/fullchain2.pem", nobody, nobody},
		{"archive/" + name + "/cert2.pfx", nobody, nobody},
		// Links keep the process's owner, like chown -R.
		{"live/" + name + "/privkey.pem", uid0, gid0},
		{"live/" + name + "/cert.pfx", uid0, gid0},
		// renewal/ and certdock/ are not for consumers.
		{"renewal", uid0, gid0},
		{"renewal/" + name + ".conf", uid0, gid0},
		{"certdock", uid0, gid0},
		{"certdock/state.json", uid0, gid0},
		{".", uid0, gid0},
	}
	for _, tt := range tests {
		if uid, gid := ownerAt(t, filepath.Join(d.Root(), tt.path)); uid != tt.uid || gid != tt.gid {
			t.Errorf("%s owned by %d:%d, want %d:%d", tt.path, uid, gid, tt.uid, tt.gid)
		}
	}
	if l, err := d.Load(name); err != nil || l.Version != 2 {
		t.Errorf("Load = %v, %v", l, err)
	}
}
