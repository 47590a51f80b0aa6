package store

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"strings"
)

// Repair brings every lineage under live/ back to a consistent state after
// a crash. When a lineage's four links do not all point at one version, or
// point at a version that is missing or incomplete, they are all re-pointed
// (by atomic rename) at the newest version whose four archive files exist,
// parse and whose key matches its certificate. Links that all point at one
// complete version are left alone, even if a newer complete version exists.
// Leftover temporary files (".*.tmp-*") in the lineage's live, archive and
// renewal directories are removed; archive files never are.
//
// live/<name>/cert.pfx is optional. When it is a link to another version's
// PKCS #12 file than the live certificate's, it is re-pointed at
// archive/<name>/certN.pfx of the live version N if that file exists, and
// otherwise left for the next WritePFX (Repair cannot encode one: it does
// not know the passphrase). A regular cert.pfx is left alone.
//
// It returns the names whose links were changed. A lineage that cannot be
// repaired (no complete version, or live files that are not links) is
// reported in the joined error and does not stop the others. Live
// directories holding four regular files, as some tools write, are not
// touched. Repair is meant to run at startup, before other writers.
func (d *Dir) Repair() ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := os.OpenRoot(d.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: repair: %w", err)
	}
	defer r.Close()
	names, err := listNames(r)
	if err != nil {
		return nil, fmt.Errorf("store: repair: %w", err)
	}
	var (
		repaired []string
		errs     []error
	)
	// Leftover temporary renewal files, of every lineage at once: reading
	// renewal/ once per lineage made a start-up over N lineages cost N²
	// directory entries.
	if err := removeTemps(r, renewalDir, ""); err != nil {
		errs = append(errs, fmt.Errorf("store: repair %s: %w", renewalDir, err))
	}
	memo := loadVerified(r)
	orig := maps.Clone(memo)
	seen := map[string]bool{}
	for _, name := range names {
		seen[name] = true
		changed, err := d.repairLineage(r, name, memo)
		if changed {
			repaired = append(repaired, name)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("store: repair %s: %w", name, err))
		}
	}
	for name := range memo {
		if !seen[name] {
			delete(memo, name) // removed lineages leave the memo
		}
	}
	d.cacheMu.Lock()
	d.vouched = make(map[string]int, len(memo))
	for name, e := range memo {
		d.vouched[name] = e.Version
	}
	d.cacheMu.Unlock()
	if !maps.Equal(orig, memo) {
		if err := saveVerified(r, memo); err != nil {
			errs = append(errs, fmt.Errorf("store: repair: %w", err))
		}
	}
	return repaired, errors.Join(errs...)
}

// repairLineage repairs one lineage and reports whether links moved.
func (d *Dir) repairLineage(r *os.Root, name string, memo verifiedMemo) (bool, error) {
	if e, ok := memo[name]; ok {
		if st, ok := d.lineageStamps(name, e.Version); ok && st == e.Stamps {
			// Verified by an earlier start-up, and neither its
			// directories nor that version's files changed since: no
			// link moved, no temporary file appeared. Not read and
			// parsed again, so a start-up over thousands of lineages
			// stays cheap.
			return false, nil
		}
	}
	live, arch := path.Join(liveDir, name), path.Join(archiveDir, name)
	var errs []error
	for _, dir := range []string{live, arch} {
		errs = append(errs, removeTemps(r, dir, ""))
	}

	changed, err := d.relinkLineage(r, name, memo)
	if err == nil {
		var moved bool
		moved, err = repointPFX(r, name)
		changed = changed || moved
	}
	return changed, errors.Join(append(errs, err)...)
}

// relinkLineage decides which version a lineage's links should point at
// and moves the ones that do not.
func (d *Dir) relinkLineage(r *os.Root, name string, memo verifiedMemo) (bool, error) {
	live := path.Join(liveDir, name)
	var (
		targets  [len(kinds)]string
		versions [len(kinds)]int
		regular  int
	)
	for i, kind := range kinds {
		p := path.Join(live, kind+".pem")
		fi, err := r.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return false, err
		case fi.Mode().IsRegular():
			regular++
			continue
		case fi.Mode()&fs.ModeSymlink == 0:
			return false, fmt.Errorf("%s is neither a file nor a link", p)
		}
		if targets[i], err = r.Readlink(p); err != nil {
			return false, err
		}
		if k, n, ok := parseArchiveBase(path.Base(targets[i])); ok && k == kind {
			versions[i] = n
		}
	}
	switch regular {
	case len(kinds):
		return false, nil // not a link-managed lineage
	case 0:
	default:
		return false, fmt.Errorf("%s mixes regular files and links; not touching it", live)
	}

	checked := map[int]bool{}
	complete := func(n int) bool {
		ok, seen := checked[n]
		if !seen {
			ok = completeVersion(r, name, n)
			checked[n] = ok
		}
		return ok
	}
	want := versions[0]
	for _, n := range versions {
		if n != want {
			want = 0
		}
	}
	if want == 0 || !complete(want) {
		want = 0
		all, err := archiveVersions(r, name)
		if err != nil {
			return false, err
		}
		for _, n := range all {
			if complete(n) {
				want = n
				break
			}
		}
		if want == 0 {
			return false, fmt.Errorf("no complete version in %s/%s", archiveDir, name)
		}
	}

	changed := false
	defer func() {
		if memo == nil {
			return
		}
		// Stamped after the links moved (and before a PFX link is
		// re-pointed, which changes live/ and costs one more full check
		// at the next start-up).
		if st, ok := d.lineageStamps(name, want); ok {
			memo[name] = verifiedEntry{Version: want, Stamps: st}
		} else {
			delete(memo, name)
		}
	}()
	for _, kind := range linkOrder {
		i := kindIndex(kind)
		t := linkTarget(name, kind, want)
		if targets[i] == t {
			continue
		}
		if err := relink(r, live, kind, t); err != nil {
			return changed, err
		}
		changed = true
	}
	if changed {
		return true, syncDir(r, live)
	}
	return false, nil
}

func kindIndex(kind string) int {
	for i, k := range kinds {
		if k == kind {
			return i
		}
	}
	panic("store: unknown file kind " + kind)
}

// completeVersion reports whether archive/<name>/ holds all four files of
// version n, the certificate and key parse, the key matches, and fullchain
// starts with the certificate.
func completeVersion(r *os.Root, name string, n int) bool {
	_, ok := readVersion(r, name, n)
	return ok
}

// readVersion returns the leaf certificate of version n of a lineage when
// that version is complete (see completeVersion); ok is false otherwise.
func readVersion(r *os.Root, name string, n int) (leaf *x509.Certificate, ok bool) {
	var data [len(kinds)][]byte
	for i, kind := range kinds {
		p := path.Join(archiveDir, name, archiveBase(kind, n))
		fi, err := r.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			return nil, false
		}
		if kind == "chain" {
			continue
		}
		if data[i], err = r.ReadFile(p); err != nil {
			return nil, false
		}
	}
	leaf, err := firstCert(data[0])
	if err != nil {
		return nil, false
	}
	key, err := parseKey(data[3])
	if err != nil || !keyMatches(leaf, key) {
		return nil, false
	}
	full, err := firstCert(data[2])
	if err != nil || !bytes.Equal(full.Raw, leaf.Raw) {
		return nil, false
	}
	return leaf, true
}

// removeTemps deletes leftover temporary files (".*.tmp-*") in dir; with a
// prefix, only those whose name starts with it. Directories are left alone.
func removeTemps(r *os.Root, dir, prefix string) error {
	entries, err := readDir(r, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !isTempName(n) || !strings.HasPrefix(n, prefix) {
			continue
		}
		if err := r.Remove(path.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
