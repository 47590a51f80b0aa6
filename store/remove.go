package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"

	"github.com/certdock/certdock/cert"
)

// Remove deletes a lineage from disk: live/<name>/ first, so consumers
// stop finding it, then renewal/<name>.conf, so certbot would not renew
// it, then archive/<name>/ with every version. Pieces already missing are
// fine, so a Remove interrupted by a crash can simply run again; removing
// a lineage that does not exist at all is not an error.
//
// Nothing outside the root is ever deleted: a symlinked live/<name>,
// archive/<name> or entry inside them is removed as a link, never
// followed, and a path leading outside the root through a symlinked
// live/, archive/ or renewal/ is refused with an error.
//
// Remove does not revoke the certificates (the caller does that first,
// with the CertPEM of each still-valid entry of Versions, or of Load for a
// lineage of regular files) and does not touch certdock's state: the
// caller deletes the lineage's entry and saves the state once Remove has
// returned nil, so a failed removal is retried on a later pass.
func (d *Dir) Remove(name string) error {
	if err := cert.ValidName(name); err != nil {
		return fmt.Errorf("store: remove: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := os.OpenRoot(d.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: remove %s: %w", name, err)
	}
	defer r.Close()

	var errs []error
	for _, p := range []string{path.Join(liveDir, name), renewalPath(name), path.Join(archiveDir, name)} {
		err := r.RemoveAll(p)
		if err == nil {
			err = syncDir(r, path.Dir(p))
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, removeTemps(r, renewalDir, "."+name+".conf.tmp-"))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: remove %s: %w", name, err)
	}
	return nil
}
