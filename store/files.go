package store

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
)

// Files returns the four files of a lineage's current version as
// live/<name>/ holds them, keyed by base name ("cert.pem", "chain.pem",
// "fullchain.pem", "privkey.pem"): what a delivery copies elsewhere (Swarm
// secrets). They are read through live/'s links inside the root and
// returned only when they belong together: the links name one version,
// cert.pem is certPEM (the certificate the caller decided on, so a Save
// that moved the links meanwhile is an error, not a mix of versions),
// fullchain.pem starts with it and privkey.pem matches it. The error
// wraps fs.ErrNotExist when the lineage does not exist and ErrCorrupt
// when its files do not belong together; it never contains key material.
func (d *Dir) Files(name string, certPEM []byte) (map[string][]byte, error) {
	return readLineage(d, "files", name, func(r *os.Root) (map[string][]byte, error) {
		return liveFiles(r, name, certPEM)
	})
}

// liveFiles reads and checks the four live files of a lineage.
func liveFiles(r *os.Root, name string, certPEM []byte) (map[string][]byte, error) {
	dir := path.Join(liveDir, name)
	if _, err := r.Stat(dir); err != nil {
		return nil, err
	}
	var files [len(kinds)]liveFile
	out := make(map[string][]byte, len(kinds))
	for i, kind := range kinds {
		lf, err := readLiveOrCorrupt(r, dir, kind)
		if err != nil {
			return nil, err
		}
		files[i] = lf
		out[kind+".pem"] = lf.data
	}
	if err := sameVersion(files); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	leaf, err := firstCert(out["cert.pem"])
	if err != nil {
		return nil, fmt.Errorf("%w: %s/cert.pem: %v", ErrCorrupt, dir, err)
	}
	if want, _ := pem.Decode(certPEM); want == nil || !bytes.Equal(want.Bytes, leaf.Raw) {
		return nil, fmt.Errorf("%w: %s/cert.pem is not the certificate asked for (a new version was saved meanwhile?)", ErrCorrupt, dir)
	}
	if err := checkKeyAndChain(leaf, files[2], files[3]); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return out, nil
}

// readLiveOrCorrupt reads live file kind of the lineage directory dir: a
// permission error as it is, any other error wrapping ErrCorrupt.
func readLiveOrCorrupt(r *os.Root, dir, kind string) (liveFile, error) {
	lf, err := readLive(r, path.Join(dir, kind+".pem"), kind)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return lf, err
	case err != nil:
		return lf, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return lf, nil
}
