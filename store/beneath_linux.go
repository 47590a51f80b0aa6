//go:build linux && (amd64 || arm64)

package store

import (
	"errors"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// beneath is a directory (the store's root) opened so that files under it
// can be read in one open each, without an os.File and without following
// any symbolic link: openat2(2) with RESOLVE_BENEATH and
// RESOLVE_NO_SYMLINKS. A path through a link, or one that would leave the
// directory, fails (ELOOP, EXDEV) instead; callers then take the os.Root
// way, which follows links that stay inside the root. Reading through
// os.Root costs an open per path component and an os.File per file: five
// to seven times the system calls.
type beneath struct{ fd int }

// openat2Missing is set once openat2 turned out to be unavailable (a
// kernel before 5.6, or a seccomp filter refusing it): every later
// openBeneath fails at once.
var openat2Missing atomic.Bool

// Constants of openat2(2) and open(2), the same on amd64 and arm64.
const (
	sysOpenat2        = 437
	resolveNoSymlinks = 0x04
	resolveBeneath    = 0x08
	oPath             = 0x200000
)

// openHow is struct open_how of openat2(2).
type openHow struct {
	flags, mode, resolve uint64
}

// openBeneath opens dir for readFile; ok is false when it cannot be
// opened or openat2 is unavailable.
func openBeneath(dir string) (beneath, bool) {
	if openat2Missing.Load() {
		return beneath{}, false
	}
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC|oPath, 0)
	if err != nil {
		return beneath{}, false
	}
	return beneath{fd: fd}, true
}

// close releases the directory.
func (b beneath) close() { syscall.Close(b.fd) }

// errTooLarge is readFile's error for a file over its size limit (and
// readlink's for a target too long to be certdock's).
var errTooLarge = errors.New("file too large")

// readFile reads rel, a slash-separated path relative to b, which must
// not pass through a symbolic link. A file larger than limit bytes is an
// error (errTooLarge): a device or a runaway file is not read to the end.
// It is opened non-blocking, so a FIFO fails instead of waiting.
func (b beneath) readFile(rel string, limit int) ([]byte, error) {
	fd, err := b.open(rel, syscall.O_RDONLY|syscall.O_NOCTTY|syscall.O_NONBLOCK)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	buf := make([]byte, 0, 2048)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return nil, err
		case n == 0:
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return nil, errTooLarge
		}
	}
}

// openDir opens the directory rel under b, for names, stat, lstat,
// readlink and readFile relative to it; the caller closes it.
func (b beneath) openDir(rel string) (beneath, error) {
	fd, err := b.open(rel, syscall.O_RDONLY|syscall.O_DIRECTORY)
	if err != nil {
		return beneath{}, err
	}
	return beneath{fd: fd}, nil
}

// open is openat2(2) of rel under b with flags (close-on-exec added),
// resolved beneath b and through no symbolic link.
func (b beneath) open(rel string, flags int) (int, error) {
	p, err := syscall.BytePtrFromString(rel)
	if err != nil {
		return -1, err
	}
	how := openHow{flags: uint64(flags | syscall.O_CLOEXEC), resolve: resolveBeneath | resolveNoSymlinks}
	for {
		fd, _, errno := syscall.Syscall6(sysOpenat2, uintptr(b.fd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
		switch errno {
		case 0:
			return int(fd), nil
		case syscall.EINTR:
			continue
		case syscall.ENOSYS, syscall.EPERM:
			openat2Missing.Store(true)
		}
		return -1, errno
	}
}

// stat stamps the directory b itself.
func (b beneath) stat() (stamp, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(b.fd, &st); err != nil {
		return stamp{}, err
	}
	return stampFrom(&st), nil
}

// lstat stamps the entry name of b without following it.
func (b beneath) lstat(name string) (stamp, error) {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return stamp{}, err
	}
	var st syscall.Stat_t
	_, _, errno := syscall.Syscall6(sysFstatat, uintptr(b.fd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&st)), atSymlinkNoFollow, 0, 0)
	if errno != 0 {
		return stamp{}, errno
	}
	return stampFrom(&st), nil
}

// atSymlinkNoFollow is AT_SYMLINK_NOFOLLOW.
const atSymlinkNoFollow = 0x100

// readlink returns the target of the link name in b.
func (b beneath) readlink(name string) (string, error) {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return "", err
	}
	var buf [512]byte
	n, _, errno := syscall.Syscall6(syscall.SYS_READLINKAT, uintptr(b.fd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	switch {
	case errno != 0:
		return "", errno
	case int(n) == len(buf):
		return "", errTooLarge // perhaps cut short
	}
	return string(buf[:n]), nil
}

// names lists the entries of the directory b (not "." and "..").
func (b beneath) names() ([]string, error) {
	var (
		buf   [4096]byte
		names []string
	)
	for {
		n, err := syscall.ReadDirent(b.fd, buf[:])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return nil, err
		case n <= 0:
			return names, nil
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names)
	}
}
