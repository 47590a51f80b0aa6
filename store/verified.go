package store

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// verifiedPath is the store's memo of the versions Repair verified
// completely (four files present, parsed, key matching the certificate),
// each with the identity of its archive files then, so that the next
// start-up need not read and parse them again while they are unchanged.
// It holds no key material; losing it only costs one full check. It is
// text, one line per lineage (see parseVerified): read at every start-up,
// it decodes in a twentieth of the time JSON took.
var verifiedPath = path.Join(stateDir, "verified")

// oldVerifiedPath is where certdock kept the memo as JSON; the first save
// in the new form removes it.
var oldVerifiedPath = path.Join(stateDir, "verified.json")

// verifiedHeader is the memo's first line; a file without it is ignored.
const verifiedHeader = "certdock verified 2\n"

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
// renewal file (taken before reading it, and settled; see renewalKey) and
// the server it named: while the file's stamp is unchanged, Load takes
// the server from here instead of reading the file.
type verifiedEntry struct {
	Version int
	Stamps  string
	Settled bool
	Renewal string
	Server  string
}

// appendRenewalKey appends what tells a file's content apart to b: its
// identity, size and times (a rewrite in place changes its change time,
// a replacement its inode number).
func appendRenewalKey(b []byte, s stamp) []byte {
	return appendStamp(b, s, true)
}

// appendStamp appends "dev:ino[:size]:mtime:ctime" of s to b.
func appendStamp(b []byte, s stamp, size bool) []byte {
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
	return strconv.AppendInt(b, s.ctime, 10)
}

// renewalKey is appendRenewalKey's text for s.
func renewalKey(s stamp) string { return string(appendRenewalKey(nil, s)) }

// isRenewal reports whether s is the stamp key was taken from (an empty
// key matches nothing).
func isRenewal(key string, s stamp) bool {
	var buf [5 * 21]byte
	return key != "" && string(appendRenewalKey(buf[:0], s)) == key
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
	renewal string // renewalKey of the renewal file whose server is server ("": none)
	server  string
}

// vouchRoot is the store's root as a Repair opened it, kept for Load
// (one open and close fewer per first Load). It is closed when nothing
// refers to it any more: a later Repair replaces it while Loads may still
// be reading through it.
type vouchRoot struct{ b beneath }

func newVouchRoot(b beneath) *vouchRoot {
	v := &vouchRoot{b: b}
	runtime.AddCleanup(v, func(b beneath) { b.close() }, b)
	return v
}

// stampsOf describes the lineage's live and archive directories and the
// four archive files of version n by identity, size and times (one lstat
// each, on plain paths: nothing is followed or read; live is the live
// directory's, taken by the caller); ok is false when one is missing, or
// a file is empty or not a regular file. settled says nothing in them
// changed within the second before now.
func (d *Dir) stampsOf(name string, n int, live stamp, now time.Time) (stamps string, settled, ok bool) {
	return d.stampsIn(beneath{}, false, name, n, live, now)
}

// stampsIn is stampsOf with the paths taken relative to b, the store's
// root, when rel (fewer path components for the kernel to walk: a
// start-up stamps five per lineage).
func (d *Dir) stampsIn(b beneath, rel bool, name string, n int, live stamp, now time.Time) (stamps string, settled, ok bool) {
	arch := archiveDir + "/" + name
	lstamp := func(p string) (stamp, bool) {
		if rel {
			s, err := b.lstat(p)
			return s, err == nil
		}
		return lstampOf(d.root + string(filepath.Separator) + filepath.FromSlash(p))
	}
	as, ok := lstamp(arch)
	if !ok {
		return "", false, false
	}
	var files [len(kinds)]stamp
	for i, kind := range kinds {
		if files[i], ok = lstamp(arch + "/" + archiveBase(kind, n)); !ok {
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
		b = append(appendStamp(b, s, size), ';')
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
	data, err := r.ReadFile(verifiedPath)
	if err != nil {
		return verifiedMemo{}
	}
	memo, ok := parseVerified(data)
	if !ok {
		return verifiedMemo{}
	}
	return memo
}

// parseVerified reads the memo's text: verifiedHeader, then one line per
// lineage, its fields separated by single spaces:
//
//	name version settled stamps renewal server
//
// settled is 0 or 1, renewal is "-" when there is none, and server is the
// rest of the line (possibly empty). Names and stamps hold no space and
// no field holds a line break. ok is false, and the memo unusable, when
// anything in it is not so.
func parseVerified(data []byte) (memo verifiedMemo, ok bool) {
	rest, found := bytes.CutPrefix(data, []byte(verifiedHeader))
	if !found {
		return nil, false
	}
	memo = verifiedMemo{}
	for len(rest) > 0 {
		line, after, found := bytes.Cut(rest, []byte("\n"))
		if !found {
			return nil, false // cut short
		}
		rest = after
		var f [5]string
		tail := string(line)
		for i := range f {
			if f[i], tail, found = strings.Cut(tail, " "); !found || f[i] == "" {
				return nil, false
			}
		}
		e := verifiedEntry{Stamps: f[3], Renewal: f[4], Server: tail}
		n, err := strconv.Atoi(f[1])
		if err != nil || n <= 0 || strconv.Itoa(n) != f[1] {
			return nil, false
		}
		e.Version = n
		switch f[2] {
		case "1":
			e.Settled = true
		case "0":
		default:
			return nil, false
		}
		if e.Renewal == "-" {
			e.Renewal = ""
		}
		if _, dup := memo[f[0]]; dup {
			return nil, false
		}
		memo[f[0]] = e
	}
	return memo, true
}

// formatVerified is parseVerified's text for memo, by name. Entries that
// text cannot hold (a field with a space or line break where none may be,
// a server with a line break) are left out: they only cost a full check.
func formatVerified(memo verifiedMemo) []byte {
	b := []byte(verifiedHeader)
	for _, name := range slices.Sorted(maps.Keys(memo)) {
		e := memo[name]
		renewal := e.Renewal
		if renewal == "" {
			renewal = "-"
		}
		if e.Version <= 0 || !memoField(name) || !memoField(e.Stamps) || !memoField(renewal) ||
			e.Renewal == "-" || strings.Contains(e.Server, "\n") {
			continue
		}
		settled := "0"
		if e.Settled {
			settled = "1"
		}
		b = fmt.Appendf(b, "%s %d %s %s %s %s\n", name, e.Version, settled, e.Stamps, renewal, e.Server)
	}
	return b
}

// memoField reports whether s can be a space-separated field of the memo.
func memoField(s string) bool { return s != "" && !strings.ContainsAny(s, " \n") }

// saveVerified writes the memo atomically (and removes the memo an older
// certdock kept as JSON).
func saveVerified(r *os.Root, memo verifiedMemo) error {
	if err := ensureDirAs(r, stateDir, stateDirMode, keepOwner); err != nil {
		return err
	}
	if err := writeFileAs(r, stateDir, path.Base(verifiedPath), formatVerified(memo), stateFileMode, keepOwner, false); err != nil {
		return err
	}
	if err := r.Remove(oldVerifiedPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(r, stateDir)
}
