//go:build unix

package store

import (
	"io/fs"
	"syscall"
)

// ownerOf returns the numeric owner and group of fi, from Stat or Lstat.
func ownerOf(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}
