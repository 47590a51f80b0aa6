package store

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/certdock/certdock/cert"
)

// Load reads the current version of a lineage from live/<name>/. The error
// wraps fs.ErrNotExist when the lineage does not exist (no live/<name>),
// and ErrCorrupt when it exists but cannot be used (a missing file, a
// broken link, unparsable PEM, a key that does not match the certificate,
// links pointing at different versions). Version is 0 when the live files
// are regular files rather than links into archive/.
//
// A lineage loaded before is returned from memory while its fingerprint is
// unchanged: the identity and times of live/<name>/ (a new version, a
// repair or a removal renames links in it) and of the renewal file, and,
// for a lineage whose live files are regular files, of each of them. A
// pass over ten thousand unchanged lineages then costs two system calls
// each instead of reading and parsing every file.
//
// The first Load of a lineage that this process's Repair verified, and
// whose live directory is unchanged since, reads only the certificate
// (see loadVouched).
func (d *Dir) Load(name string) (*cert.Lineage, error) {
	if err := cert.ValidName(name); err != nil {
		return nil, fmt.Errorf("store: load: %w", err)
	}
	d.cacheMu.Lock()
	c, hit := d.cache[name]
	d.cacheMu.Unlock()
	paths := c.paths
	if !hit {
		paths = d.stampPaths(name)
	}
	fp, fpOK := paths.fingerprint(hit && c.lin.Version == 0)
	if hit && fpOK && c.fp == fp {
		return shareLineage(c.lin), nil
	}
	d.cacheMu.Lock()
	v, root := d.vouched[name], d.vouchRoot
	d.cacheMu.Unlock()
	var l *cert.Lineage
	if fpOK && v.trusted && v.live == fp.dir && root != nil {
		l = loadVouched(root, name, v, fp)
	}
	var err error
	if l == nil {
		l, err = d.loadLong(name, v.version)
	}
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	if err == nil && l.Version == 0 {
		// Regular files, edited in place: their own stamps count too
		// (taken after the read; a change in between is in the last
		// second, which settled refuses to cache).
		fp, fpOK = paths.fingerprint(true)
	}
	switch {
	case err == nil && fpOK && fp.settled(d.now()):
		// The fingerprint was taken before reading: a change made during
		// the read gives a different fingerprint next time. One made in
		// the same clock tick as the stamps might not, so a lineage
		// changed less than a second ago is not kept.
		if d.cache == nil {
			d.cache = map[string]cachedLineage{}
		}
		if l.Version != 0 {
			fp.files = [len(kinds)]stamp{}
		}
		d.cache[name] = cachedLineage{fp: fp, paths: paths, lin: cloneLineage(l)}
	default:
		delete(d.cache, name)
	}
	return l, err
}

// loadLong reads a lineage through os.Root (see load).
func (d *Dir) loadLong(name string, vouched int) (*cert.Lineage, error) {
	r, err := os.OpenRoot(d.root)
	if err != nil {
		return nil, fmt.Errorf("store: load %s: %w", name, err)
	}
	defer r.Close()
	return load(r, name, vouched)
}

// maxPEM bounds what loadVouched reads of one file; a larger one is read
// the long way.
const maxPEM = 1 << 20

// loadVouched is Load of a lineage whose live directory has the stamp it
// had when this process's start-up Repair verified it (fp.dir is v.live):
// no link moved since, so they all point at v.version, whose key and
// fullchain were checked then. Only the certificate is read, from
// archive/ directly (one open beneath the root Repair opened, no link
// followed); the server comes from v while the renewal file's stamp is
// the one it was read at. It returns nil when anything is not as
// expected; Load then reads the long way, which reports what is wrong.
func loadVouched(root *vouchRoot, name string, v vouch, fp fingerprint) *cert.Lineage {
	defer runtime.KeepAlive(root) // its descriptor stays open until the reads are done
	b := root.b
	data, err := b.readFile(archiveDir+"/"+name+"/"+archiveBase("cert", v.version), maxPEM)
	if err != nil {
		return nil
	}
	leaf, certPEM, err := certAndBlock(data)
	if err != nil {
		return nil
	}
	server := v.server
	if !isRenewal(v.renewal, fp.renewal) {
		var ok bool
		if server, ok = serverBeneath(b, name); !ok {
			return nil
		}
	}
	return &cert.Lineage{
		Name:      name,
		Version:   v.version,
		Domains:   append([]string(nil), leaf.DNSNames...),
		NotBefore: leaf.NotBefore,
		NotAfter:  leaf.NotAfter,
		KeyType:   keyTypeOf(leaf.PublicKey),
		Server:    server,
		Leaf:      leaf,
		CertPEM:   certPEM,
	}
}

// serverBeneath is readServer through b; ok is false when the file
// could not be read that way (a link on its path, say) and readServer
// should be asked.
func serverBeneath(b beneath, name string) (server string, ok bool) {
	conf, err := b.readFile(renewalPath(name), 1<<20)
	switch {
	case err == nil:
		return renewalServer(conf), true
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errTooLarge):
		return "", true // as readServer: a missing or oversized file names no server
	}
	return "", false
}

// cloneLineage copies l so that callers and the cache never share a
// slice (the parsed certificate is shared: nothing modifies it).
func cloneLineage(l *cert.Lineage) *cert.Lineage {
	cp := *l
	cp.Domains = slices.Clone(l.Domains)
	cp.CertPEM = bytes.Clone(l.CertPEM)
	return &cp
}

// shareLineage copies a cached lineage for a caller: its own struct and
// domain list; the parsed certificate and its PEM are shared, read-only
// (nothing in certdock writes to them).
func shareLineage(l *cert.Lineage) *cert.Lineage {
	cp := *l
	cp.Domains = slices.Clone(l.Domains)
	return &cp
}

// cachedLineage is a Load result with the fingerprint it was read at.
type cachedLineage struct {
	fp    fingerprint
	paths stampPaths
	lin   *cert.Lineage
}

// stampPaths are the paths a lineage's fingerprint stats, built once.
type stampPaths struct {
	live, renewal cpath
	files         [len(kinds)]cpath
}

func (d *Dir) stampPaths(name string) stampPaths {
	sep := string(filepath.Separator)
	live := d.root + sep + liveDir + sep + name
	p := stampPaths{live: toCPath(live), renewal: toCPath(d.root + sep + renewalDir + sep + name + ".conf")}
	for i, kind := range kinds {
		p.files[i] = toCPath(live + sep + kind + ".pem")
	}
	return p
}

// stamp is what one stat says of a file or directory.
type stamp struct {
	dev, ino     uint64
	mtime, ctime int64
	size         int64
	mode         uint32
	regular, dir bool
}

// fingerprint is what Load's cache is checked against.
type fingerprint struct {
	dir, renewal stamp
	// files are the live files' stamps, kept only for lineages whose live
	// files are regular files (edited in place, not renamed).
	files [len(kinds)]stamp
}

// settled reports whether nothing in the fingerprint changed within the
// last second: file times have the granularity of a clock tick, so a
// change in the same tick as the stamps would go unseen.
func (f fingerprint) settled(now time.Time) bool {
	for _, s := range append([]stamp{f.dir, f.renewal}, f.files[:]...) {
		if !s.settled(now) {
			return false
		}
	}
	return true
}

// settled reports whether the stamped file did not change within the
// second before now (see fingerprint.settled).
func (s stamp) settled(now time.Time) bool {
	recent := now.Add(-time.Second).UnixNano()
	return s.mtime <= recent && s.ctime <= recent
}

// fingerprint stamps live/<name>/ and renewal/<name>.conf, and with files
// every live file. ok is false when the live directory or a live file
// cannot be examined (Load then reads, and reports why).
func (p stampPaths) fingerprint(files bool) (fp fingerprint, ok bool) {
	if fp.dir, ok = stampAt(p.live); !ok {
		return fp, false
	}
	fp.renewal, _ = stampAt(p.renewal)
	if files {
		for i, f := range p.files {
			if fp.files[i], ok = stampAt(f); !ok {
				return fp, false
			}
		}
	}
	return fp, true
}

// liveFile is what one live/<name>/<kind>.pem holds.
type liveFile struct {
	data    []byte
	link    bool   // a symlink (else a regular file)
	target  string // link target
	version int    // from the target's name; 0 if not a link or not numbered
}

// load reads and checks a lineage. vouched, when not 0, is the version
// this process's start-up Repair verified completely (key matching,
// fullchain starting with the certificate): when every link points at
// it, only cert.pem is read and parsed.
func load(r *os.Root, name string, vouched int) (*cert.Lineage, error) {
	dir := path.Join(liveDir, name)
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("store: load %s: %w: %s", name, ErrCorrupt, fmt.Sprintf(format, args...))
	}

	// The lineage's own directories opened once: each file is then one
	// lookup instead of a walk from the store's root.
	lr, err := r.OpenRoot(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("store: load %s: %w", name, fs.ErrNotExist)
	case err != nil:
		if fi, serr := r.Stat(dir); serr == nil && !fi.IsDir() {
			return nil, corrupt("%s is not a directory", dir)
		}
		return nil, fmt.Errorf("store: load %s: %w", name, err)
	}
	defer lr.Close()
	ar, err := r.OpenRoot(path.Join(archiveDir, name))
	if err == nil {
		defer ar.Close()
	} else {
		ar = nil // live files written in place: no archive
	}
	var files [len(kinds)]liveFile
	for i, kind := range kinds {
		lf, err := readLiveIn(r, lr, ar, name, kind, vouched)
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("store: load %s: %w", name, err)
		}
		if err != nil {
			return nil, corrupt("%v", err)
		}
		files[i] = lf
	}
	if err := sameVersion(files); err != nil {
		return nil, corrupt("%v", err)
	}
	certF, fullF, keyF := files[0], files[2], files[3]

	leaf, certPEM, err := certAndBlock(certF.data)
	if err != nil {
		return nil, corrupt("cert.pem: %v", err)
	}
	trusted := vouched != 0 && certF.version == vouched && keyF.version == vouched && fullF.version == vouched &&
		keyF.data == nil && fullF.data == nil
	if !trusted {
		for _, f := range []*liveFile{&fullF, &keyF} {
			if f.data != nil {
				continue
			}
			kind := "fullchain"
			if f == &keyF {
				kind = "privkey"
			}
			if *f, err = readLive(r, path.Join(dir, kind+".pem"), kind); err != nil {
				return nil, corrupt("%v", err)
			}
		}
		if err := checkKeyAndChain(leaf, fullF, keyF); err != nil {
			return nil, corrupt("%v", err)
		}
	}
	return &cert.Lineage{
		Name:      name,
		Version:   certF.version,
		Domains:   append([]string(nil), leaf.DNSNames...),
		NotBefore: leaf.NotBefore,
		NotAfter:  leaf.NotAfter,
		KeyType:   keyTypeOf(leaf.PublicKey),
		Server:    readServer(r, name),
		Leaf:      leaf,
		CertPEM:   certPEM,
	}, nil
}

// readLive reads one live file, following its link inside the root only,
// and says what went wrong in terms an operator can act on.
// checkKeyAndChain checks that the private key matches the certificate
// and that fullchain.pem starts with it.
func checkKeyAndChain(leaf *x509.Certificate, fullF, keyF liveFile) error {
	key, err := parseKey(keyF.data)
	if err != nil {
		return fmt.Errorf("privkey.pem: %v", err)
	}
	if !keyMatches(leaf, key) {
		return errors.New("privkey.pem does not match cert.pem")
	}
	if b, _ := pem.Decode(fullF.data); b == nil || b.Type != pemCertificate || !bytes.Equal(b.Bytes, leaf.Raw) {
		return errors.New("fullchain.pem does not start with the certificate of cert.pem")
	}
	return nil
}

// readLiveIn is readLive for load, with the lineage's live and archive
// directories already open (ar nil when there is none): a link in the
// form certdock writes is read through ar, anything else the long way.
func readLiveIn(r, lr, ar *os.Root, name, kind string, vouched int) (liveFile, error) {
	base := kind + ".pem"
	if ar == nil {
		return readLive(r, path.Join(liveDir, name, base), kind)
	}
	// A link in certdock's form is the common case: readlink alone tells
	// (it fails on anything else, which then goes the long way).
	lf := liveFile{link: true}
	var err error
	if lf.target, err = lr.Readlink(base); err != nil {
		return readLive(r, path.Join(liveDir, name, base), kind)
	}
	k, n, ok := parseArchiveBase(path.Base(lf.target))
	if !ok || k != kind || lf.target != linkTarget(name, kind, n) {
		return readLive(r, path.Join(liveDir, name, base), kind)
	}
	lf.version = n
	if kind != "cert" && n == vouched {
		// The key, chain and fullchain of a version verified at start-up:
		// nothing more to read.
		return lf, nil
	}
	if kind == "chain" {
		// Nothing in a Lineage comes from chain.pem: that the version is
		// there is enough (one stat instead of a read).
		if fi, err := ar.Stat(archiveBase(kind, n)); err == nil && fi.Mode().IsRegular() {
			return lf, nil
		}
		return readLive(r, path.Join(liveDir, name, base), kind) // for its error
	}
	if lf.data, err = ar.ReadFile(archiveBase(kind, n)); err != nil {
		return readLive(r, path.Join(liveDir, name, base), kind) // for its error
	}
	return lf, nil
}

func readLive(r *os.Root, p, kind string) (liveFile, error) {
	var lf liveFile
	fi, err := r.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return lf, fmt.Errorf("%s is missing", p)
	}
	if err != nil {
		return lf, err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		lf.link = true
		if lf.target, err = r.Readlink(p); err != nil {
			return lf, err
		}
		if k, n, ok := parseArchiveBase(path.Base(lf.target)); ok && k == kind {
			lf.version = n
		}
	case !fi.Mode().IsRegular():
		return lf, fmt.Errorf("%s is neither a file nor a link", p)
	}
	lf.data, err = r.ReadFile(p)
	switch {
	case err == nil:
		return lf, nil
	case errors.Is(err, fs.ErrPermission):
		return lf, err
	case lf.link && errors.Is(err, fs.ErrNotExist):
		return lf, fmt.Errorf("%s is a broken link to %s", p, lf.target)
	case lf.link:
		return lf, fmt.Errorf("%s: cannot follow link to %s (links must stay inside the certificate directory): %v", p, lf.target, err)
	}
	return lf, err
}

// sameVersion checks that every numbered link points at one version.
func sameVersion(files [len(kinds)]liveFile) error {
	first := 0
	mixed := false
	for _, f := range files {
		if f.version == 0 {
			continue
		}
		if first == 0 {
			first = f.version
		} else if f.version != first {
			mixed = true
		}
	}
	if !mixed {
		return nil
	}
	parts := make([]string, len(kinds))
	for i, f := range files {
		parts[i] = fmt.Sprintf("%s %d", kinds[i], f.version)
	}
	return fmt.Errorf("live links point at different versions (%s); Repair fixes this", strings.Join(parts, ", "))
}

// firstBlock returns the PEM text of the first block of data (the
// certificate leaf was parsed from) as stored, or leaf re-encoded when
// the file holds anything around it.
func firstBlock(data []byte, leaf *x509.Certificate) []byte {
	start := bytes.Index(data, []byte("-----BEGIN "))
	if start < 0 {
		return encodeCert(leaf)
	}
	_, rest := pem.Decode(data[start:])
	block := data[start : len(data)-len(rest)]
	if b, _ := pem.Decode(block); b == nil || !bytes.Equal(b.Bytes, leaf.Raw) || len(b.Headers) > 0 {
		return encodeCert(leaf)
	}
	return bytes.Clone(block)
}
