package store

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/certdock/certdock/cert"
)

// Default modes, matching the seed image's CERTS_DIRS_MODE and
// CERTS_FILES_MODE.
const (
	DefaultDirMode  fs.FileMode = 0o750
	DefaultFileMode fs.FileMode = 0o640
)

// ErrCorrupt is wrapped by Load when a lineage exists but cannot be used:
// a missing file, a broken link, unparsable PEM, a key that does not match
// its certificate, or links pointing at different versions.
var ErrCorrupt = errors.New("corrupt lineage")

// The directories of certbot's layout, relative to the root.
const (
	liveDir    = "live"
	archiveDir = "archive"
	renewalDir = "renewal"
)

// kinds are the four files of a version, in certbot's naming.
var kinds = [...]string{"cert", "chain", "fullchain", "privkey"}

// linkOrder is the order in which live links move to a new version. The key
// and fullchain (what most servers load) move back to back, then the leaf
// and chain. A crash in between leaves mismatched links, which Repair fixes.
var linkOrder = [...]string{"privkey", "fullchain", "cert", "chain"}

// The method set the controller relies on; the controller declares its own
// interface, this guard keeps Dir from drifting away from it.
var _ interface {
	Load(name string) (*cert.Lineage, error)
	Versions(name string) ([]cert.Version, error)
	PrivateKey(name string) ([]byte, error)
	Save(name string, b cert.Bundle, meta cert.IssueMeta) (*cert.Lineage, error)
	Repair() ([]string, error)
	Names() ([]string, error)
	LivePath(name string) string
	WritePFX(name string, opts PFXOptions) error
	ApplyOwnership(name string, own Ownership) error
	Remove(name string) error
	LoadState() (*State, error)
	SaveState(s *State) error
} = (*Dir)(nil)

// Options tunes a Dir. The zero value gives the defaults.
type Options struct {
	// DirMode is the permission of the directories the store creates or
	// manages (live, archive, renewal and the per-lineage directories);
	// zero means DefaultDirMode.
	DirMode fs.FileMode
	// FileMode is the permission of every file the store writes; zero
	// means DefaultFileMode.
	FileMode fs.FileMode
	// Owner, when not nil, is given to every directory and file the store
	// creates or manages under live/ and archive/, before it becomes
	// visible: a new version is readable by its consumers (say, a group
	// named by CERTS_GROUP_OWNER) from the moment its links move, without
	// waiting for ApplyOwnership. Symbolic links keep the process's owner,
	// as with chown -R; renewal/ and certdock/ are not affected. Nil leaves
	// ownership to the process (usually root).
	Owner *Ownership
}

// Dir is a certbot-layout certificate directory such as /etc/letsencrypt.
// Its methods are safe for concurrent use; the writers of live/, archive/
// and renewal/ (Save, Repair, WritePFX, ApplyOwnership, Remove)
// are serialised with each other, LoadState and SaveState with each other
// only, and Load does not wait for anything.
type Dir struct {
	root     string
	dirMode  fs.FileMode
	fileMode fs.FileMode
	owner    Ownership // for live/ and archive/; keepOwner when not configured
	// now is the clock file times are compared with, to tell a change
	// made within the last second (see fingerprint.settled); tests
	// advance it instead of sleeping.
	now func() time.Time

	mu      sync.Mutex // serialises the writers of live/, archive/ and renewal/
	stateMu sync.Mutex // serialises LoadState and SaveState

	cacheMu sync.Mutex
	cache   map[string]cachedLineage // Load's results, by lineage name
	vouched map[string]vouch         // lineages Repair verified (or found verified and unchanged) in this process
	// vouchRoot is the root as Repair opened it, for loadVouched to read
	// the lineages it vouched for in the tree it saw (nil without
	// openat2).
	vouchRoot *vouchRoot
}

// New returns the store rooted at root. Nothing is touched on disk until the
// first Save; root is made absolute so renewal files name absolute paths.
func New(root string, opts Options) *Dir {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	} else {
		root = filepath.Clean(root)
	}
	d := &Dir{root: root, dirMode: opts.DirMode.Perm(), fileMode: opts.FileMode.Perm(), owner: keepOwner, now: time.Now}
	if opts.Owner != nil {
		d.owner = *opts.Owner
	}
	if d.dirMode == 0 {
		d.dirMode = DefaultDirMode
	}
	if d.fileMode == 0 {
		d.fileMode = DefaultFileMode
	}
	return d
}

// Root returns the absolute directory the store lives in.
func (d *Dir) Root() string { return d.root }

// LivePath returns the directory consumers read a lineage from,
// root/live/name. It does not validate name.
func (d *Dir) LivePath(name string) string { return filepath.Join(d.root, liveDir, name) }

// Names returns the lineage names present under live/, sorted. Entries that
// are not directories, or whose names are not valid lineage names, are
// skipped. A store that does not exist yet has no names.
func (d *Dir) Names() ([]string, error) {
	r, err := os.OpenRoot(d.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: names: %w", err)
	}
	defer r.Close()
	lineages, err := d.listLineages(r)
	if err != nil {
		return nil, fmt.Errorf("store: names: %w", err)
	}
	var names []string
	for _, l := range lineages {
		names = append(names, l.name)
	}
	return names, nil
}

// lineageDir is a lineage's directory under live/, with its stamp (lstat)
// when one could be taken.
type lineageDir struct {
	name   string
	live   stamp
	liveOK bool
}

// listLineages returns the directories under live/ whose names are valid
// lineage names, sorted by name: entries that are directories, or links
// to directories inside the root. It reads names only and stamps each
// entry once (the stamp tells a directory; Repair's memo needs it too):
// this file system gives no entry types, so reading live/ with types
// stated every entry a second time, and os.Root's Stat costs three calls.
func (d *Dir) listLineages(r *os.Root) ([]lineageDir, error) {
	names, err := readDirNames(r, liveDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	out := make([]lineageDir, 0, len(names))
	for _, n := range names {
		if cert.ValidName(n) != nil {
			continue
		}
		l := lineageDir{name: n}
		l.live, l.liveOK = d.liveStamp(n)
		if !l.liveOK || !l.live.dir {
			// A link, followed inside the root only, or an entry lstat
			// could not tell.
			fi, err := r.Stat(path.Join(liveDir, n))
			if err != nil || !fi.IsDir() {
				continue
			}
		}
		out = append(out, l)
	}
	return out, nil
}

func readDir(r *os.Root, dir string) ([]fs.DirEntry, error) {
	f, err := r.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// readDirNames lists the names in dir without stating them.
func readDirNames(r *os.Root, dir string) ([]string, error) {
	f, err := r.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// openRootCreate opens the store's root, creating it with DirMode when it
// does not exist yet.
func (d *Dir) openRootCreate() (*os.Root, error) {
	if _, err := os.Stat(d.root); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(d.root, d.dirMode); err != nil {
			return nil, err
		}
		if err := os.Chmod(d.root, d.dirMode); err != nil {
			return nil, err
		}
		if err := syncPath(filepath.Dir(d.root)); err != nil {
			return nil, err
		}
	}
	return os.OpenRoot(d.root)
}

// ensureDir creates dir (relative to r) if needed and gives it DirMode,
// whatever the umask, and the configured owner when dir is under live/ or
// archive/. A newly created directory's parent is synced so the entry
// survives a crash.
func (d *Dir) ensureDir(r *os.Root, dir string) error {
	return ensureDirAs(r, dir, d.dirMode, d.ownerFor(dir))
}

// ensureDirAs is ensureDir with an explicit mode and owner. A set-user-ID
// or set-group-ID bit already on the directory is kept, as chmod(1) keeps
// it for a numeric mode.
func ensureDirAs(r *os.Root, dir string, mode fs.FileMode, own Ownership) error {
	created := false
	if _, err := r.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := r.Mkdir(dir, mode); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		created = true
	}
	f, err := r.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if !own.keep() && !own.matches(fi) {
		if err := f.Chown(own.UID, own.GID); err != nil {
			return err
		}
	}
	if want := dirModeFor(fi, mode); fi.Mode()&modeBits != want {
		if err := f.Chmod(want); err != nil {
			return err
		}
	}
	if created {
		return syncDir(r, path.Dir(dir))
	}
	return nil
}

// modeBits are the bits of a FileMode that chmod sets.
const modeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// dirModeFor is the mode a directory gets for the configured perm: perm,
// plus the set-user-ID and set-group-ID bits it already has (an operator
// may use set-group-ID so new files inherit a group).
func dirModeFor(fi fs.FileInfo, perm fs.FileMode) fs.FileMode {
	return perm | fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid)
}

// ownerFor is the owner a path relative to the root gets when the store
// writes it: the configured one under live/ and archive/, else none.
func (d *Dir) ownerFor(p string) Ownership {
	top, _, _ := strings.Cut(p, "/")
	if top == liveDir || top == archiveDir {
		return d.owner
	}
	return keepOwner
}

// syncDir fsyncs a directory so renames and new entries in it are durable.
func syncDir(r *os.Root, dir string) error {
	f, err := r.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncPath(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// tempName returns a hidden temporary name next to base, in the form Repair
// recognises and removes: ".base.tmp-XXXX".
func tempName(base string) string {
	return "." + base + ".tmp-" + strconv.FormatUint(rand.Uint64(), 36)
}

// isTempName reports whether a directory entry is a leftover temporary file.
func isTempName(n string) bool {
	return strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp-")
}

// writeFile writes data to dir/base via a temporary file in the same
// directory: write, chown to the configured owner (under live/ and
// archive/), chmod to FileMode, fsync, then move into place. With
// noClobber the final name must not exist (archive files are never
// replaced); otherwise it is replaced atomically. The caller syncs dir.
func (d *Dir) writeFile(r *os.Root, dir, base string, data []byte, noClobber bool) error {
	return writeFileAs(r, dir, base, data, d.fileMode, d.ownerFor(dir), noClobber)
}

// writeFileAs is writeFile with an explicit mode and owner.
func writeFileAs(r *os.Root, dir, base string, data []byte, mode fs.FileMode, own Ownership, noClobber bool) error {
	var (
		tmp string
		f   *os.File
		err error
	)
	for range 10 {
		tmp = path.Join(dir, tempName(base))
		f, err = r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && !own.keep() {
		err = f.Chown(own.UID, own.GID)
	}
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.Remove(tmp)
		return err
	}
	final := path.Join(dir, base)
	if !noClobber {
		if err := r.Rename(tmp, final); err != nil {
			r.Remove(tmp)
			return err
		}
		return nil
	}
	// A hard link fails if final exists, unlike rename.
	err = r.Link(tmp, final)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		// Some filesystems have no hard links: check, then rename.
		if _, serr := r.Lstat(final); errors.Is(serr, fs.ErrNotExist) {
			err = r.Rename(tmp, final)
		}
	}
	r.Remove(tmp)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; not replacing an archive file", final)
	}
	return err
}

// relink points dir/kind.pem at target by renaming a temporary symlink over
// it, so readers see either the old or the new link, never none.
func relink(r *os.Root, dir, kind, target string) error {
	return relinkBase(r, dir, kind+".pem", target)
}

// relinkBase points dir/base at target the way relink does. Whatever
// dir/base was (a link, a regular file) is replaced atomically; a
// directory is not.
func relinkBase(r *os.Root, dir, base, target string) error {
	var (
		tmp string
		err error
	)
	for range 10 {
		tmp = path.Join(dir, tempName(base))
		err = r.Symlink(target, tmp)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	if err := r.Rename(tmp, path.Join(dir, base)); err != nil {
		r.Remove(tmp)
		return err
	}
	return nil
}

// linkTarget is the relative target certbot uses for a live link.
func linkTarget(name, kind string, version int) string {
	return "../../" + archiveDir + "/" + name + "/" + archiveBase(kind, version)
}

func archiveBase(kind string, version int) string {
	return kind + strconv.Itoa(version) + ".pem"
}

// parseArchiveBase splits "fullchain12.pem" into ("fullchain", 12).
func parseArchiveBase(base string) (kind string, version int, ok bool) {
	stem, ok := strings.CutSuffix(base, ".pem")
	if !ok {
		return "", 0, false
	}
	for _, k := range kinds {
		digits, found := strings.CutPrefix(stem, k)
		if !found || digits == "" || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
			continue
		}
		n, err := strconv.Atoi(digits)
		if err != nil || n <= 0 {
			continue
		}
		return k, n, true
	}
	return "", 0, false
}

// archiveVersions returns every version number with at least one file in
// archive/<name>/, newest first.
func archiveVersions(r *os.Root, name string) ([]int, error) {
	entries, err := readDir(r, path.Join(archiveDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	var out []int
	for _, e := range entries {
		if _, n, ok := parseArchiveBase(e.Name()); ok && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

// readLineage runs read on lineage name inside the store's root, for a
// read-only operation op ("files", "private key", "versions"): the name is
// checked first, and every error is prefixed with "store: op name". A
// store whose directory does not exist gives an error wrapping
// fs.ErrNotExist.
func readLineage[T any](d *Dir, op, name string, read func(r *os.Root) (T, error)) (T, error) {
	var zero T
	if err := cert.ValidName(name); err != nil {
		return zero, fmt.Errorf("store: %s: %w", op, err)
	}
	r, err := os.OpenRoot(d.root)
	if errors.Is(err, fs.ErrNotExist) {
		return zero, fmt.Errorf("store: %s %s: %w", op, name, fs.ErrNotExist)
	}
	if err != nil {
		return zero, fmt.Errorf("store: %s %s: %w", op, name, err)
	}
	defer r.Close()
	v, err := read(r)
	if err != nil {
		return zero, fmt.Errorf("store: %s %s: %w", op, name, err)
	}
	return v, nil
}
