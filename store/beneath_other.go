//go:build !(linux && (amd64 || arm64))

package store

import "errors"

// beneath is unavailable here: openBeneath always fails and callers read
// through os.Root.
type beneath struct{}

func openBeneath(string) (beneath, bool) { return beneath{}, false }

func (beneath) close() {}

func (beneath) readFile(string, int) ([]byte, error) { return nil, errBeneath }

func (beneath) openDir(string) (beneath, error) { return beneath{}, errBeneath }

func (beneath) stat() (stamp, error) { return stamp{}, errBeneath }

func (beneath) lstat(string) (stamp, error) { return stamp{}, errBeneath }

func (beneath) readlink(string) (string, error) { return "", errBeneath }

func (beneath) names() ([]string, error) { return nil, errBeneath }

// errBeneath is never returned: openBeneath fails first.
var errBeneath = errors.New("store: no openat2 on this system")

// errTooLarge is readFile's error for a file over its size limit.
var errTooLarge = errors.New("file too large")
