package store

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
	lineages, err := d.listLineages(r)
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
	p := &repairPass{memo: loadVerified(r), vouched: make(map[string]vouch, len(lineages))}
	var root *vouchRoot
	if p.b, p.quick = openBeneath(d.root); p.quick {
		root = newVouchRoot(p.b)
	}
	orig := maps.Clone(p.memo)
	seen := make(map[string]bool, len(lineages))
	results := d.repairAll(r, lineages, p)
	for i, l := range lineages {
		seen[l.name] = true
		if results[i].changed {
			repaired = append(repaired, l.name)
		}
		if err := results[i].err; err != nil {
			errs = append(errs, fmt.Errorf("store: repair %s: %w", l.name, err))
		}
	}
	for name, e := range p.memo {
		switch {
		case !seen[name]:
			delete(p.memo, name) // removed lineages leave the memo
		case p.vouched[name].version == 0:
			// Not checked again (a lineage Repair leaves alone): its
			// version still spares Load a second look at its key.
			p.vouched[name] = vouch{version: e.Version}
		}
	}
	d.cacheMu.Lock()
	d.vouched, d.vouchRoot = p.vouched, root
	d.cacheMu.Unlock()
	if !maps.Equal(orig, p.memo) {
		if err := saveVerified(r, p.memo); err != nil {
			errs = append(errs, fmt.Errorf("store: repair: %w", err))
		}
	}
	return repaired, errors.Join(errs...)
}

// repairResult is what repairLineage said of one lineage.
type repairResult struct {
	changed bool
	err     error
}

// repairAll repairs every lineage, one worker per processor: lineages
// are independent (each has its own directories and files), and a
// start-up's checks are system calls and parsing that two cores do in
// half the time. Results are in the order of lineages.
func (d *Dir) repairAll(r *os.Root, lineages []lineageDir, p *repairPass) []repairResult {
	results := make([]repairResult, len(lineages))
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), len(lineages)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(lineages) {
					return
				}
				results[i].changed, results[i].err = d.repairLineage(r, lineages[i], p)
			}
		})
	}
	wg.Wait()
	return results
}

// repairPass is what Repair carries from lineage to lineage: the memo as
// read (and updated), and what it tells Load. Its methods are safe for
// concurrent use.
type repairPass struct {
	mu      sync.Mutex // guards memo and vouched
	memo    verifiedMemo
	vouched map[string]vouch
	// b is the store's root for quickCheck, when quick (openat2 works).
	b     beneath
	quick bool
}

// vouch notes that name's version e was verified (or found verified and
// unchanged) with its live directory at live.
func (p *repairPass) vouch(name string, e verifiedEntry, live stamp) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.vouched[name] = vouch{version: e.Version, live: live, trusted: e.Settled, renewal: e.Renewal, server: e.Server}
}

// repairLineage repairs one lineage and reports whether links moved. p is
// nil when Save repairs after a failed link move (no memo to keep).
func (d *Dir) repairLineage(r *os.Root, l lineageDir, p *repairPass) (bool, error) {
	name := l.name
	if p != nil && l.liveOK {
		if e, ok := p.entry(name); ok && e.Settled {
			if st, _, ok := d.stampsIn(p.b, p.quick, name, e.Version, l.live, d.now()); ok && st == e.Stamps {
				// Verified by an earlier start-up, and neither its
				// directories nor that version's files changed since: no
				// link moved, no temporary file appeared. Not read and
				// parsed again, so a start-up over thousands of lineages
				// stays cheap.
				p.vouch(name, e, l.live)
				return false, nil
			}
		}
	}
	if p != nil && p.quick {
		now := d.now()
		if e, live, pfx, ok := d.quickCheck(p.b, name, now); ok {
			p.keep(d, r, name, e, live, now)
			if !pfx {
				return false, nil
			}
			return repointPFX(r, name)
		}
	}
	live, arch := path.Join(liveDir, name), path.Join(archiveDir, name)
	var errs []error
	for _, dir := range []string{live, arch} {
		errs = append(errs, removeTemps(r, dir, ""))
	}

	changed, err := d.relinkLineage(r, name, p)
	if err == nil {
		var moved bool
		moved, err = repointPFX(r, name)
		changed = changed || moved
	}
	return changed, errors.Join(append(errs, err)...)
}

// relinkLineage decides which version a lineage's links should point at
// and moves the ones that do not.
func (d *Dir) relinkLineage(r *os.Root, name string, p *repairPass) (bool, error) {
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
		if p != nil {
			// Stamped after the links moved (and before a PFX link is
			// re-pointed, which changes live/ and costs one more full
			// check at the next start-up).
			d.remember(r, name, want, p)
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

// remember records version n of a lineage, just verified, in the memo,
// with the server of its renewal file; or forgets the lineage when its
// files cannot be stamped.
func (d *Dir) remember(r *os.Root, name string, n int, p *repairPass) {
	now := d.now()
	live, ok := d.liveStamp(name)
	st, settled, ok2 := d.stampsOf(name, n, live, now)
	if !ok || !ok2 {
		p.forget(name)
		return
	}
	p.keep(d, r, name, verifiedEntry{Version: n, Stamps: st, Settled: settled}, live, now)
}

// keep records e, just verified with the live directory at live, in the
// memo and for Load, with the server of the lineage's renewal file. The
// renewal file is stamped before it is read: a change after the stamp
// changes it. Only a settled stamp is kept (see verifiedEntry.Settled).
func (p *repairPass) keep(d *Dir, r *os.Root, name string, e verifiedEntry, live stamp, now time.Time) {
	if rs, ok := d.renewalStamp(name); ok && rs.regular && e.Settled && rs.settled(now) {
		server, ok := "", false
		if p.quick {
			server, ok = serverBeneath(p.b, name)
		}
		if !ok {
			server = readServer(r, name)
		}
		e.Renewal, e.Server = renewalKey(rs), server
	}
	p.mu.Lock()
	p.memo[name] = e
	p.mu.Unlock()
	p.vouch(name, e, live)
}

// entry returns the memo's entry for name.
func (p *repairPass) entry(name string) (verifiedEntry, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.memo[name]
	return e, ok
}

// forget drops name from the memo.
func (p *repairPass) forget(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.memo, name)
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
	return verifyVersion(data[0], data[2], data[3])
}

// verifyVersion returns the certificate of a version's files when it
// parses, the key parses and matches it, and fullchain starts with it;
// ok is false otherwise.
func verifyVersion(certPEM, fullchainPEM, keyPEM []byte) (leaf *x509.Certificate, ok bool) {
	leaf, err := firstCert(certPEM)
	if err != nil {
		return nil, false
	}
	key, err := parseKey(keyPEM)
	if err != nil || !keyMatches(leaf, key) {
		return nil, false
	}
	// fullchain's first block is compared by its DER: a block with the
	// certificate's bytes parses to it, and any other block would parse
	// (if at all) to another certificate.
	if b, _ := pem.Decode(fullchainPEM); b == nil || b.Type != pemCertificate || !bytes.Equal(b.Bytes, leaf.Raw) {
		return nil, false
	}
	return leaf, true
}

// removeTemps deletes leftover temporary files (".*.tmp-*") in dir; with a
// prefix, only those whose name starts with it. Directories are left alone.
func removeTemps(r *os.Root, dir, prefix string) error {
	names, err := readDirNames(r, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if !isTempName(n) || !strings.HasPrefix(n, prefix) {
			continue
		}
		p := path.Join(dir, n)
		if fi, err := r.Lstat(p); err != nil || fi.IsDir() {
			continue
		}
		if err := r.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
