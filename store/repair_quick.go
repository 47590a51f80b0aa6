package store

import (
	"path"
	"time"
)

// quickCheck is Repair's full check of one lineage done in one pass over
// its two directories, opened once each (a few dozen system calls instead
// of a walk through os.Root for every file), for the case certdock leaves
// behind: no temporary file in live/<name>/ or archive/<name>/, the four
// live links in certdock's form all at one version n, and that version's
// four archive files regular, non-empty and complete (see
// completeVersion). Nothing is then to repair. It returns the memo entry
// for version n, stamped before the files were read, the live directory's
// stamp, and whether live/<name>/ holds a cert.pfx (whose link the caller
// checks). ok is false in any other case, or on any error: the caller then
// takes the long way, which repairs or reports.
func (d *Dir) quickCheck(b beneath, name string, now time.Time) (e verifiedEntry, live stamp, pfx, ok bool) {
	ld, err := b.openDir(liveDir + "/" + name)
	if err != nil {
		return e, live, false, false
	}
	defer ld.close()
	ad, err := b.openDir(archiveDir + "/" + name)
	if err != nil {
		return e, live, false, false
	}
	defer ad.close()
	if live, err = ld.stat(); err != nil {
		return e, live, false, false
	}
	arch, err := ad.stat()
	if err != nil {
		return e, live, false, false
	}
	for i, dir := range []beneath{ld, ad} {
		names, err := dir.names()
		if err != nil {
			return e, live, false, false
		}
		for _, n := range names {
			if isTempName(n) {
				return e, live, false, false
			}
			pfx = pfx || i == 0 && n == pfxBase
		}
	}
	n := 0
	for _, kind := range kinds {
		t, err := ld.readlink(kind + ".pem")
		if err != nil {
			return e, live, false, false
		}
		k, v, good := parseArchiveBase(path.Base(t))
		if !good || k != kind || t != linkTarget(name, kind, v) || n != 0 && v != n {
			return e, live, false, false
		}
		n = v
	}
	var (
		files [len(kinds)]stamp
		data  [len(kinds)][]byte
	)
	for i, kind := range kinds {
		base := archiveBase(kind, n)
		if files[i], err = ad.lstat(base); err != nil || !files[i].regular {
			return e, live, false, false
		}
		if kind == "chain" {
			continue // as completeVersion: present is enough
		}
		if data[i], err = ad.readFile(base, maxPEM); err != nil {
			return e, live, false, false
		}
	}
	if _, good := verifyVersion(data[0], data[2], data[3]); !good {
		return e, live, false, false
	}
	stamps, settled, good := formatStamps(live, arch, files, now)
	if !good {
		return e, live, false, false
	}
	return verifiedEntry{Version: n, Stamps: stamps, Settled: settled}, live, pfx, true
}
