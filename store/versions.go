package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"

	"github.com/certdock/certdock/cert"
)

// Versions returns every complete version of a lineage, oldest (lowest
// number) first. A version is complete when archive/<name>/ holds its four
// files, the certificate and key parse, the key matches the certificate
// and fullchain starts with it: the test Repair uses. Incomplete or
// unparsable versions are skipped without a word (Repair and Load report
// on the live one), so a lineage whose archive holds none gives an empty
// list and no error. Versions does not wait for a running Save: a version
// still being written is incomplete and skipped.
//
// The error wraps fs.ErrNotExist when archive/<name>/ does not exist. That
// includes a lineage whose live files are regular files rather than links
// into archive/: its only certificate is the one Load returns.
func (d *Dir) Versions(name string) ([]cert.Version, error) {
	return readLineage(d, "versions", name, func(r *os.Root) ([]cert.Version, error) {
		return versions(r, name)
	})
}

func versions(r *os.Root, name string) ([]cert.Version, error) {
	arch := path.Join(archiveDir, name)
	fi, err := r.Stat(arch)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no %s: %w", arch, fs.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", arch)
	}
	numbers, err := archiveVersions(r, name)
	if err != nil {
		return nil, err
	}
	slices.Reverse(numbers)
	var out []cert.Version
	for _, n := range numbers {
		leaf, ok := readVersion(r, name, n)
		if !ok {
			continue
		}
		out = append(out, cert.Version{
			Number:    n,
			CertPEM:   encodeCert(leaf),
			NotBefore: leaf.NotBefore,
			NotAfter:  leaf.NotAfter,
			Serial:    leaf.SerialNumber.String(),
		})
	}
	return out, nil
}
