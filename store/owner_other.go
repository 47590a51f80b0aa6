//go:build !unix

package store

import "io/fs"

// ownerOf reports that this platform does not expose numeric owners.
func ownerOf(fs.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }

// fileID is not available here: fingerprints then read link targets.
func fileID(fs.FileInfo) (dev, ino uint64, ok bool) { return 0, 0, false }
