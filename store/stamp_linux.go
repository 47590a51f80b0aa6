//go:build linux

package store

import (
	"syscall"
	"time"
)

// stampOf stats path (following links) into a stamp without allocating a
// FileInfo; ok is false when it cannot be examined.
func stampOf(path string) (stamp, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return stamp{}, false
	}
	return stampFrom(&st), true
}

// lstampOf is stampOf without following a final link.
func lstampOf(path string) (stamp, bool) {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return stamp{}, false
	}
	return stampFrom(&st), true
}

func stampFrom(st *syscall.Stat_t) stamp {
	return stamp{
		dev: uint64(st.Dev), ino: st.Ino, size: st.Size, mode: uint32(st.Mode),
		regular: st.Mode&syscall.S_IFMT == syscall.S_IFREG,
		dir:     st.Mode&syscall.S_IFMT == syscall.S_IFDIR,
		mtime:   time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)).UnixNano(),
		ctime:   time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)).UnixNano(),
	}
}
