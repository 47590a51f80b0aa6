package memtrim

import "syscall"

// madvPageout is MADV_PAGEOUT (Linux 5.4): reclaim the pages now.
const madvPageout = 21

// pageOut advises the kernel to reclaim the pages of [addr, addr+n); a
// kernel that does not know the advice (EINVAL) is not an error.
func pageOut(addr, n uintptr) error {
	_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, n, madvPageout)
	if errno != 0 && errno != syscall.EINVAL {
		return errno
	}
	return nil
}
