package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"

	"github.com/certdock/certdock/cert"
)

// Ownership is a numeric owner and group, as CERTS_USER_OWNER and
// CERTS_GROUP_OWNER resolve to. -1 in either field leaves that part
// unchanged, as in chown(2).
type Ownership struct {
	UID, GID int
}

// keepOwner changes nothing.
var keepOwner = Ownership{UID: -1, GID: -1}

// keep reports whether o changes nothing.
func (o Ownership) keep() bool { return o.UID < 0 && o.GID < 0 }

// matches reports whether fi already has the owner and group o asks for.
// Where the platform does not say, it reports false.
func (o Ownership) matches(fi fs.FileInfo) bool {
	uid, gid, ok := ownerOf(fi)
	return ok && (o.UID < 0 || o.UID == uid) && (o.GID < 0 || o.GID == gid)
}

// ApplyOwnership gives own and the Dir's modes to one lineage, the way the
// seed image's deploy hook did with chmod and chown -R: the directories
// live/ and archive/ themselves and the files directly in them (the
// README), then live/<name>/ and archive/<name>/ and everything in them.
// Directories get DirMode (keeping a set-group-ID bit already there),
// regular files FileMode; symbolic links are never followed: they are
// re-owned with lchown and, having no mode of their own, not chmoded.
// Other lineages' directories are left to their own call. Entries that
// already have the wanted owner and mode are not touched.
//
// Ownership is changed with lchown for every entry; for directories and
// files that is chown, and for links it changes the link itself. Changing
// the owner to another user needs root (CAP_CHOWN); the error then wraps
// fs.ErrPermission. A lineage with neither live/<name> nor archive/<name>
// gives an error wrapping fs.ErrNotExist.
func (d *Dir) ApplyOwnership(name string, own Ownership) error {
	if err := cert.ValidName(name); err != nil {
		return fmt.Errorf("store: ownership: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := os.OpenRoot(d.root)
	if err != nil {
		return fmt.Errorf("store: ownership %s: %w", name, err)
	}
	defer r.Close()

	var errs []error
	found := false
	for _, top := range []string{liveDir, archiveDir} {
		if err := d.applyTop(r, top, own); err != nil {
			errs = append(errs, err)
		}
		sub := path.Join(top, name)
		err := d.applyTree(r, sub, own)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			found = true
			errs = append(errs, err)
		default:
			found = true
		}
	}
	if !found && len(errs) == 0 {
		return fmt.Errorf("store: ownership %s: %w", name, fs.ErrNotExist)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: ownership %s: %w", name, err)
	}
	return nil
}

// applyTop applies own and the modes to the directory top (live or
// archive) and to what it holds that is not a directory. A missing top is
// fine.
func (d *Dir) applyTop(r *os.Root, top string, own Ownership) error {
	fi, err := r.Lstat(top)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", top)
	}
	if err := d.applyOne(r, top, fi, own); err != nil {
		return err
	}
	entries, err := readDir(r, top)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		p := path.Join(top, e.Name())
		fi, err := r.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			err = d.applyOne(r, p, fi, own)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// applyTree applies own and the modes to p and, when p is a directory (not
// a link to one), to everything below it. The error wraps fs.ErrNotExist
// only when p itself is missing.
func (d *Dir) applyTree(r *os.Root, p string, own Ownership) error {
	fi, err := r.Lstat(p)
	if err != nil {
		return err
	}
	if err := d.applyOne(r, p, fi, own); err != nil {
		return err
	}
	if !fi.IsDir() {
		return nil
	}
	entries, err := readDir(r, p)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		err := d.applyTree(r, path.Join(p, e.Name()), own)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// applyOne sets the owner and mode of one entry described by fi (from Lstat).
// Entries other than directories, regular files and links are left alone.
func (d *Dir) applyOne(r *os.Root, p string, fi fs.FileInfo, own Ownership) error {
	var want fs.FileMode
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
	case fi.IsDir():
		want = dirModeFor(fi, d.dirMode)
	case fi.Mode().IsRegular():
		want = d.fileMode
	default:
		return nil
	}
	if !own.keep() && !own.matches(fi) {
		if err := r.Lchown(p, own.UID, own.GID); err != nil {
			return err
		}
	}
	// chown(2) clears set-user-ID and set-group-ID bits of files, so the
	// mode comes second.
	if want != 0 && fi.Mode()&modeBits != want {
		if err := r.Chmod(p, want); err != nil {
			return err
		}
	}
	return nil
}
