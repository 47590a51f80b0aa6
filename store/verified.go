package store

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"
)

// verifiedPath is the store's memo of the versions Repair verified
// completely (four files present, parsed, key matching the certificate),
// each with the identity of its archive files then, so that the next
// start-up need not read and parse them again while they are unchanged.
// It holds no key material; losing it only costs one full check.
var verifiedPath = path.Join(stateDir, "verified.json")

// verifiedMemo maps a lineage name to its last verified version.
type verifiedMemo map[string]verifiedEntry

// verifiedEntry is one verified version and the stamps of its files and
// of the lineage's live and archive directories (an entry added, renamed
// or removed there, a temporary file left by a crash included, changes
// them).
//
// Settled says that none of the stamps had changed within the second
// before they were taken: file times have a clock tick's granularity, so
// a change in the same tick as a stamp could leave it as it was. An
// unsettled entry is not trusted: the next start-up checks the lineage
// fully again.
//
// Renewal and Server, when Renewal is set, are the stamp of the lineage's
// renewal file (taken before reading it, and settled) and the server it
// named: while the file's stamp is unchanged, Load takes the server from
// here instead of reading the file.
type verifiedEntry struct {
	Version int       `json:"version"`
	Stamps  string    `json:"stamps"`
	Settled bool      `json:"settled,omitempty"`
	Renewal fileStamp `json:"renewal,omitzero"`
	Server  string    `json:"server,omitempty"`
}

// fileStamp is a stamp as the memo keeps it: what tells a file's content
// apart (a rewrite in place changes its change time, a replacement its
// inode number).
type fileStamp struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"`
	Ctime int64  `json:"ctime"`
}

func fileStampOf(s stamp) fileStamp {
	return fileStamp{Dev: s.dev, Ino: s.ino, Size: s.size, Mtime: s.mtime, Ctime: s.ctime}
}

// is reports whether s is the stamp f was taken from.
func (f fileStamp) is(s stamp) bool {
	return f != fileStamp{} && f == fileStampOf(s)
}

// vouch is what this process's start-up Repair knows of a verified
// lineage, for Load.
type vouch struct {
	version int // the verified version; its key and fullchain need no second check
	// live is the stamp of live/<name>/ at the check; trusted says it
	// was settled. While live/<name>/ still has that stamp (every link
	// move renames in it), its links still point at version, and Load
	// reads only the certificate.
	live    stamp
	trusted bool
	renewal fileStamp // the renewal file whose server is server (zero: none)
	server  string
}

// stampsOf describes the lineage's live and archive directories and the
// four archive files of version n by identity, size and times (one lstat
// each, on plain paths: nothing is followed or read; live is the live
// directory's, taken by the caller); ok is false when one is missing, or
// a file is empty or not a regular file. settled says nothing in them
// changed within the second before now.
func (d *Dir) stampsOf(name string, n int, live stamp, now time.Time) (stamps string, settled, ok bool) {
	sep := string(filepath.Separator)
	arch := d.root + sep + archiveDir + sep + name
	as, ok := lstampOf(arch)
	if !ok {
		return "", false, false
	}
	var files [len(kinds)]stamp
	for i, kind := range kinds {
		if files[i], ok = lstampOf(arch + sep + archiveBase(kind, n)); !ok {
			return "", false, false
		}
	}
	return formatStamps(live, as, files, now)
}

// formatStamps is stampsOf's text for stamps already taken; ok is false
// when a file is empty or not a regular file.
func formatStamps(live, arch stamp, files [len(kinds)]stamp, now time.Time) (stamps string, settled, ok bool) {
	settled = true
	b := make([]byte, 0, 384)
	put := func(s stamp, size bool) {
		b = strconv.AppendUint(b, s.dev, 10)
		b = append(b, ':')
		b = strconv.AppendUint(b, s.ino, 10)
		if size {
			b = append(b, ':')
			b = strconv.AppendInt(b, s.size, 10)
		}
		b = append(b, ':')
		b = strconv.AppendInt(b, s.mtime, 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, s.ctime, 10)
		b = append(b, ';')
		settled = settled && s.settled(now)
	}
	put(live, false)
	put(arch, false)
	for _, s := range files {
		if s.size == 0 || !s.regular {
			return "", false, false
		}
		put(s, true)
	}
	return string(b), settled, true
}

// liveStamp stamps live/<name>/ as stampsOf expects it (lstat).
func (d *Dir) liveStamp(name string) (stamp, bool) {
	sep := string(filepath.Separator)
	return lstampOf(d.root + sep + liveDir + sep + name)
}

// renewalStamp stamps renewal/<name>.conf as Load's fingerprint does
// (following a link).
func (d *Dir) renewalStamp(name string) (stamp, bool) {
	sep := string(filepath.Separator)
	return stampOf(d.root + sep + renewalDir + sep + name + ".conf")
}

// loadVerified reads the memo; a missing or unreadable one is empty.
func loadVerified(r *os.Root) verifiedMemo {
	memo := verifiedMemo{}
	data, err := r.ReadFile(verifiedPath)
	if err != nil || json.Unmarshal(data, &memo) != nil {
		return verifiedMemo{}
	}
	return memo
}

// saveVerified writes the memo atomically.
func saveVerified(r *os.Root, memo verifiedMemo) error {
	data, err := json.Marshal(memo)
	if err != nil {
		return err
	}
	if err := ensureDirAs(r, stateDir, stateDirMode, keepOwner); err != nil {
		return err
	}
	if err := writeFileAs(r, stateDir, path.Base(verifiedPath), data, stateFileMode, keepOwner, false); err != nil {
		return err
	}
	return syncDir(r, stateDir)
}
