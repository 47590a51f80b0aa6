//go:build linux && (amd64 || arm64)

package store

import (
	"syscall"
	"unsafe"
)

// cpath is a path ready for the kernel: NUL-terminated, converted once.
type cpath []byte

func toCPath(p string) cpath { return append([]byte(p), 0) }

// stampAt is stampOf for a converted path: the no-op pass stats two paths
// per certificate, and converting them on every call was a fifth of what
// such a pass allocates.
func stampAt(p cpath) (stamp, bool) {
	var st syscall.Stat_t
	fd := atFDCWD
	_, _, errno := syscall.Syscall6(sysFstatat, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(unsafe.Pointer(&st)), 0, 0, 0)
	if errno != 0 {
		return stamp{}, false
	}
	return stampFrom(&st), true
}

// atFDCWD is AT_FDCWD: paths relative to the working directory (ours are
// absolute or as the store was given).
const atFDCWD = -100
