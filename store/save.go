package store

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"

	"github.com/certdock/certdock/cert"
)

// Save stores a freshly issued bundle as the next version of a lineage and
// returns the lineage as Load then sees it.
//
// The name and the bundle are checked before anything is written: the name
// must be a valid lineage name, the certificate and any chain must parse and
// the private key must match the leaf. The new version N+1 (N the highest
// number of any file in archive/<name>/) is written file by file through a
// temporary file, fsynced, and never replaces an existing archive file; only
// then do the four live links move, each by renaming a temporary symlink
// over the old one. The renewal file is rewritten last. Saving the bundle
// that is already live writes no new version.
func (d *Dir) Save(name string, b cert.Bundle, meta cert.IssueMeta) (*cert.Lineage, error) {
	if err := cert.ValidName(name); err != nil {
		return nil, fmt.Errorf("store: save: %w", err)
	}
	v, err := prepare(b)
	if err != nil {
		return nil, fmt.Errorf("store: save %s: %w", name, err)
	}
	kt := keyTypeOf(v.leaf.PublicKey)
	if kt == "" {
		kt = meta.KeyType
	}
	if _, err := d.renewalConf(name, 0, kt, meta); err != nil {
		return nil, fmt.Errorf("store: save %s: %w", name, err)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRootCreate()
	if err != nil {
		return nil, fmt.Errorf("store: save %s: %w", name, err)
	}
	defer r.Close()
	l, err := d.save(r, name, v, kt, meta, 0)
	if err != nil {
		return nil, fmt.Errorf("store: save %s: %w", name, err)
	}
	return l, nil
}

// ErrVersionExists is wrapped by SaveAs's error when the archive holds
// other files under the version number asked for.
var ErrVersionExists = errors.New("the archive holds another certificate under that version")

// SaveAs stores a bundle as version n of a lineage, numbered where it was
// issued (by another certdock of a swarm), so a lineage rebuilt from the
// swarm's state keeps its numbering and the next renewal is n+1. It
// checks and writes as Save does; the live links move to n only when n is
// the newest version in the archive. A version n archived with the same
// files is not written again; one with other files is an error wrapping
// ErrVersionExists, and nothing is written, unless replace is set: the
// other files are then overwritten (the swarm's copy wins over a version
// this node issued and never published).
func (d *Dir) SaveAs(name string, n int, b cert.Bundle, meta cert.IssueMeta, replace bool) (*cert.Lineage, error) {
	if err := cert.ValidName(name); err != nil {
		return nil, fmt.Errorf("store: save: %w", err)
	}
	if n < 1 {
		return nil, fmt.Errorf("store: save %s: version %d", name, n)
	}
	v, err := prepare(b)
	if err != nil {
		return nil, fmt.Errorf("store: save %s version %d: %w", name, n, err)
	}
	kt := keyTypeOf(v.leaf.PublicKey)
	if kt == "" {
		kt = meta.KeyType
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRootCreate()
	if err != nil {
		return nil, fmt.Errorf("store: save %s version %d: %w", name, n, err)
	}
	defer r.Close()
	save := d.save
	if replace {
		save = d.saveReplacing
	}
	l, err := save(r, name, v, kt, meta, n)
	if err != nil {
		return nil, fmt.Errorf("store: save %s version %d: %w", name, n, err)
	}
	return l, nil
}

// saveReplacing is save of version want over other files archived under
// that number: they are removed first.
func (d *Dir) saveReplacing(r *os.Root, name string, v *version, kt cert.KeyType, meta cert.IssueMeta, want int) (*cert.Lineage, error) {
	if _, err := unarchived(r, name, want, v); errors.Is(err, ErrVersionExists) {
		for _, kind := range kinds {
			if err := r.Remove(path.Join(archiveDir, name, archiveBase(kind, want))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
	}
	return d.save(r, name, v, kt, meta, want)
}

// save writes v as version want of lineage name, or as the next version
// when want is 0.
func (d *Dir) save(r *os.Root, name string, v *version, kt cert.KeyType, meta cert.IssueMeta, want int) (*cert.Lineage, error) {
	live, arch := path.Join(liveDir, name), path.Join(archiveDir, name)
	for _, dir := range []string{liveDir, archiveDir, renewalDir, live, arch} {
		if err := d.ensureDir(r, dir); err != nil {
			return nil, err
		}
	}
	if err := d.ensureFile(r, liveDir, "README", []byte(liveReadme)); err != nil {
		return nil, err
	}
	if err := d.ensureFile(r, live, "README", []byte(lineageReadme)); err != nil {
		return nil, err
	}

	n, current := liveVersion(r, name, v)
	if current && want > 0 && n != want {
		return nil, fmt.Errorf("live/ holds these files as version %d, not %d: %w", n, want, ErrVersionExists)
	}
	if !current {
		versions, err := archiveVersions(r, name)
		if err != nil {
			return nil, err
		}
		n = 1
		if len(versions) > 0 {
			n = versions[0] + 1
		}
		missing, newest := kinds[:], true
		if want > 0 {
			n, newest = want, len(versions) == 0 || want >= versions[0]
			if slices.Contains(versions, want) {
				// Left by an earlier import (complete, or cut short
				// by a crash): the same files, or an error.
				if missing, err = unarchived(r, name, want, v); err != nil {
					return nil, err
				}
			}
		}
		if len(missing) > 0 {
			for _, kind := range missing {
				if err := d.writeFile(r, arch, archiveBase(kind, n), v.files[kind], true); err != nil {
					return nil, err
				}
			}
			if err := syncDir(r, arch); err != nil {
				return nil, err
			}
		}
		if !newest {
			return load(r, name, 0)
		}
		if err := moveLinks(r, name, n); err != nil {
			// Some links may have moved: point them all at the newest
			// complete version, which is the one just written.
			if _, rerr := d.repairLineage(r, lineageDir{name: name}, nil); rerr != nil {
				return nil, errors.Join(err, rerr)
			}
			return nil, err
		}
	}

	conf, err := d.renewalConf(name, n, kt, meta)
	if err != nil {
		return nil, err
	}
	if err := d.ensureContent(r, renewalDir, name+".conf", conf); err != nil {
		return nil, err
	}
	return load(r, name, 0)
}

// unarchived returns the kinds of v's files that archive/<name>/ does
// not hold as version n yet; an error wrapping ErrVersionExists when it
// holds other content under that number.
func unarchived(r *os.Root, name string, n int, v *version) ([]string, error) {
	var missing []string
	for _, kind := range kinds {
		data, err := r.ReadFile(path.Join(archiveDir, name, archiveBase(kind, n)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, kind)
		case err != nil:
			return nil, err
		case !bytes.Equal(data, v.files[kind]):
			return nil, fmt.Errorf("%s: %w", archiveBase(kind, n), ErrVersionExists)
		}
	}
	return missing, nil
}

// liveVersion reports whether live/<name>/ already holds exactly the files
// of v, and if so at which version.
func liveVersion(r *os.Root, name string, v *version) (int, bool) {
	n := -1
	for _, kind := range kinds {
		lf, err := readLive(r, path.Join(liveDir, name, kind+".pem"), kind)
		if err != nil || !bytes.Equal(lf.data, v.files[kind]) {
			return 0, false
		}
		if lf.version == 0 || n >= 0 && lf.version != n {
			return 0, false
		}
		n = lf.version
	}
	return n, true
}

// moveLinks points the four live links of a lineage at version n and syncs
// the directory.
func moveLinks(r *os.Root, name string, n int) error {
	live := path.Join(liveDir, name)
	for _, kind := range linkOrder {
		if err := relink(r, live, kind, linkTarget(name, kind, n)); err != nil {
			return err
		}
	}
	return syncDir(r, live)
}

// ensureFile writes dir/base when it does not exist yet.
func (d *Dir) ensureFile(r *os.Root, dir, base string, data []byte) error {
	if _, err := r.Lstat(path.Join(dir, base)); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := d.writeFile(r, dir, base, data, false); err != nil {
		return err
	}
	return syncDir(r, dir)
}

// ensureContent atomically replaces dir/base unless it already holds data.
func (d *Dir) ensureContent(r *os.Root, dir, base string, data []byte) error {
	if old, err := r.ReadFile(path.Join(dir, base)); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := d.writeFile(r, dir, base, data, false); err != nil {
		return err
	}
	return syncDir(r, dir)
}
