package store

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/certdock/certdock/cert"
)

// Load reads the current version of a lineage from live/<name>/. The error
// wraps fs.ErrNotExist when the lineage does not exist (no live/<name>),
// and ErrCorrupt when it exists but cannot be used (a missing file, a
// broken link, unparsable PEM, a key that does not match the certificate,
// links pointing at different versions). Version is 0 when the live files
// are regular files rather than links into archive/.
//
// A lineage loaded before is returned from memory while its fingerprint
// (where each live file points, and the size, mode and modification time
// of what it reaches, and of the renewal file) is unchanged: a pass over
// a thousand unchanged lineages then costs a few system calls each
// instead of reading and parsing every file.
func (d *Dir) Load(name string) (*cert.Lineage, error) {
	if err := cert.ValidName(name); err != nil {
		return nil, fmt.Errorf("store: load: %w", err)
	}
	fp, fpOK := d.fingerprint(name)
	if fpOK {
		d.cacheMu.Lock()
		c, hit := d.cache[name]
		d.cacheMu.Unlock()
		if hit && c.fp == fp {
			return cloneLineage(c.lin), nil
		}
	}
	r, err := os.OpenRoot(d.root)
	if err != nil {
		return nil, fmt.Errorf("store: load %s: %w", name, err)
	}
	defer r.Close()
	l, err := load(r, name)
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	switch {
	case err == nil && fpOK:
		// The fingerprint was taken before reading: a change made during
		// the read gives a different fingerprint next time.
		if d.cache == nil {
			d.cache = map[string]cachedLineage{}
		}
		d.cache[name] = cachedLineage{fp: fp, lin: cloneLineage(l)}
	default:
		delete(d.cache, name)
	}
	return l, err
}

// cloneLineage copies l so that callers and the cache never share a
// slice (the parsed certificate is shared: nothing modifies it).
func cloneLineage(l *cert.Lineage) *cert.Lineage {
	cp := *l
	cp.Domains = slices.Clone(l.Domains)
	cp.CertPEM = bytes.Clone(l.CertPEM)
	return &cp
}

// cachedLineage is a Load result with the fingerprint it was read at.
type cachedLineage struct {
	fp  string
	lin *cert.Lineage
}

// fingerprint describes the files Load reads, cheaply: for each live file,
// the identity, size, mode and modification time of what it reaches (one
// stat; where file identities are unknown, the link target too); then
// the renewal file's. Versions are written under new archive names and links are
// replaced by rename, so any new version, repair or edit changes it. ok is
// false when a live file cannot be examined (Load then reports why).
func (d *Dir) fingerprint(name string) (fp string, ok bool) {
	var b strings.Builder
	live := filepath.Join(d.root, liveDir, name)
	for _, kind := range kinds {
		// What the live name reaches: a new version, a link moved to
		// another version or a file rewritten changes its identity
		// (device and inode), size, mode or modification time.
		p := filepath.Join(live, kind+".pem")
		st, err := os.Stat(p)
		if err != nil {
			return "", false
		}
		if dev, ino, ok := fileID(st); ok {
			fmt.Fprintf(&b, "%d:%d/%d/%d/%v;", dev, ino, st.ModTime().UnixNano(), st.Size(), st.Mode())
			continue
		}
		target, _ := os.Readlink(p)
		fmt.Fprintf(&b, "%s>%d/%d/%v;", target, st.ModTime().UnixNano(), st.Size(), st.Mode())
	}
	if st, err := os.Stat(filepath.Join(d.root, renewalDir, name+".conf")); err == nil {
		fmt.Fprintf(&b, "r%d/%d", st.ModTime().UnixNano(), st.Size())
	}
	return b.String(), true
}

// liveFile is what one live/<name>/<kind>.pem holds.
type liveFile struct {
	data    []byte
	link    bool   // a symlink (else a regular file)
	target  string // link target
	version int    // from the target's name; 0 if not a link or not numbered
}

func load(r *os.Root, name string) (*cert.Lineage, error) {
	dir := path.Join(liveDir, name)
	fi, err := r.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: load %s: %w", name, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("store: load %s: %w", name, err)
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("store: load %s: %w: %s", name, ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if !fi.IsDir() {
		return nil, corrupt("%s is not a directory", dir)
	}

	var files [len(kinds)]liveFile
	for i, kind := range kinds {
		p := path.Join(dir, kind+".pem")
		lf, err := readLive(r, p, kind)
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

	leaf, err := firstCert(certF.data)
	if err != nil {
		return nil, corrupt("cert.pem: %v", err)
	}
	key, err := parseKey(keyF.data)
	if err != nil {
		return nil, corrupt("privkey.pem: %v", err)
	}
	if !keyMatches(leaf, key) {
		return nil, corrupt("privkey.pem does not match cert.pem")
	}
	if full, err := firstCert(fullF.data); err != nil || !bytes.Equal(full.Raw, leaf.Raw) {
		return nil, corrupt("fullchain.pem does not start with the certificate of cert.pem")
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
		CertPEM:   encodeCert(leaf),
	}, nil
}

// readLive reads one live file, following its link inside the root only,
// and says what went wrong in terms an operator can act on.
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
