package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// accountsDir holds the ACME accounts, certdock's and certbot's, under
// the store's root.
const accountsDir = "accounts"

// maxAccountFile bounds one account file read by AccountFiles.
const maxAccountFile = 1 << 20

// AccountFiles returns every regular file under accounts/ (certdock's
// account and any certbot account adopted with the volume), keyed by its
// slash-separated path relative to the store's root, for copying the
// accounts to another node. A store without accounts gives none. Symlinks
// are not followed.
func (d *Dir) AccountFiles() (map[string][]byte, error) {
	r, err := os.OpenRoot(d.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: account files: %w", err)
	}
	defer r.Close()
	out := map[string][]byte{}
	err = fs.WalkDir(r.FS(), accountsDir, func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == accountsDir {
			return fs.SkipDir
		}
		if err != nil || !e.Type().IsRegular() || strings.HasPrefix(path.Base(p), ".") {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxAccountFile {
			return fmt.Errorf("%s: %d bytes, not an account file", p, info.Size())
		}
		data, err := r.ReadFile(p)
		if err != nil {
			return err
		}
		out[p] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: account files: %w", err)
	}
	return out, nil
}

// WriteAccountFile writes one file under accounts/ (rel as AccountFiles
// names it), through a temporary file and a rename, 0600 in directories
// of 0700: account keys are private. Content already there is not
// written again.
func (d *Dir) WriteAccountFile(rel string, data []byte) error {
	clean := path.Clean(rel)
	if clean != rel || !strings.HasPrefix(rel, accountsDir+"/") || strings.Contains(rel, "/../") || strings.HasPrefix(path.Base(rel), ".") {
		return fmt.Errorf("store: write account file %q: not a path under %s/", rel, accountsDir)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRootCreate()
	if err != nil {
		return fmt.Errorf("store: write account file %s: %w", rel, err)
	}
	defer r.Close()
	if cur, err := r.ReadFile(rel); err == nil && string(cur) == string(data) {
		return nil
	}
	dir := path.Dir(rel)
	if err := r.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: write account file %s: %w", rel, err)
	}
	if err := writeFileAs(r, dir, path.Base(rel), data, 0o600, keepOwner, false); err != nil {
		return fmt.Errorf("store: write account file %s: %w", rel, err)
	}
	return nil
}
