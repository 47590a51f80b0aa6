package testenv

import (
	"os"
	"syscall"
)

// fileID identifies a file (here: a namespace) by device and inode.
type fileID struct{ dev, ino uint64 }

// statID returns the device and inode of path; for /proc/PID/ns/net and
// a namespace bound by ip netns, equal IDs mean the same namespace.
func statID(path string) (fileID, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true
}

// detachMount lazily unmounts path (umount -l).
func detachMount(path string) error { return syscall.Unmount(path, syscall.MNT_DETACH) }
