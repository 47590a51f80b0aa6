package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
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
type verifiedEntry struct {
	Version int    `json:"version"`
	Stamps  string `json:"stamps"`
}

// lineageStamps describes the lineage's live and archive directories and
// the four archive files of version n by identity, size and times (one
// lstat each, on plain paths: nothing is followed or read); ok is false
// when one is missing, or a file is empty or not a regular file.
func (d *Dir) lineageStamps(name string, n int) (string, bool) {
	sep := string(filepath.Separator)
	arch := d.root + sep + archiveDir + sep + name
	var b strings.Builder
	for _, p := range []string{d.root + sep + liveDir + sep + name, arch} {
		s, ok := lstampOf(p)
		if !ok {
			return "", false
		}
		fmt.Fprintf(&b, "%d:%d:%d:%d;", s.dev, s.ino, s.mtime, s.ctime)
	}
	for _, kind := range kinds {
		s, ok := lstampOf(arch + sep + archiveBase(kind, n))
		if !ok || s.size == 0 || !s.regular {
			return "", false
		}
		fmt.Fprintf(&b, "%d:%d:%d:%d:%d;", s.dev, s.ino, s.size, s.mtime, s.ctime)
	}
	return b.String(), true
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
