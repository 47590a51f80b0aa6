package store

import (
	"fmt"
	"os"
	"path"
)

// PrivateKey returns the private key of a lineage's current version as
// stored: the PEM that live/<name>/privkey.pem holds, read through its
// link inside the root. It is what a renewal reuses under ACME_REUSE_KEY.
//
// The key is returned only when it parses and matches the certificate of
// live/<name>/cert.pem, so a lineage caught between two link moves of a
// Save, or damaged, gives an error rather than a key that belongs to no
// current certificate. The error wraps fs.ErrNotExist when the lineage
// does not exist (no live/<name>) and ErrCorrupt when it exists but its
// key cannot be used; it never contains key material.
func (d *Dir) PrivateKey(name string) ([]byte, error) {
	return readLineage(d, "private key", name, func(r *os.Root) ([]byte, error) {
		return liveKey(r, name)
	})
}

// liveKey reads live/<name>/privkey.pem and checks it against cert.pem.
func liveKey(r *os.Root, name string) ([]byte, error) {
	dir := path.Join(liveDir, name)
	fi, err := r.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrCorrupt, dir)
	}
	var files [2]liveFile
	for i, kind := range [...]string{"cert", "privkey"} {
		lf, err := readLiveOrCorrupt(r, dir, kind)
		if err != nil {
			return nil, err
		}
		files[i] = lf
	}
	leaf, err := firstCert(files[0].data)
	if err != nil {
		return nil, fmt.Errorf("%w: cert.pem: %v", ErrCorrupt, err)
	}
	key, err := parseKey(files[1].data)
	if err != nil {
		return nil, fmt.Errorf("%w: privkey.pem: %v", ErrCorrupt, err)
	}
	if !keyMatches(leaf, key) {
		return nil, fmt.Errorf("%w: privkey.pem does not match cert.pem", ErrCorrupt)
	}
	return files[1].data, nil
}
