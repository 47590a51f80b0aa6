//go:build !linux

package testenv

import "errors"

// fileID identifies a file by device and inode; namespaces exist only on
// Linux.
type fileID struct{ dev, ino uint64 }

// statID finds nothing outside Linux (StartSwarm skips there).
func statID(string) (fileID, bool) { return fileID{}, false }

// detachMount is not supported outside Linux.
func detachMount(string) error { return errors.ErrUnsupported }
