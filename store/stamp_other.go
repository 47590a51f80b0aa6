//go:build !linux

package store

import (
	"io/fs"
	"os"
)

// stampOf stats path (following links) into a stamp; ok is false when it
// cannot be examined. Without inode numbers, size, mode and times tell.
func stampOf(path string) (stamp, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return stamp{}, false
	}
	return stampFrom(st), true
}

// lstampOf is stampOf without following a final link.
func lstampOf(path string) (stamp, bool) {
	st, err := os.Lstat(path)
	if err != nil {
		return stamp{}, false
	}
	return stampFrom(st), true
}

func stampFrom(st fs.FileInfo) stamp {
	return stamp{size: st.Size(), mode: uint32(st.Mode()), regular: st.Mode().IsRegular(), dir: st.IsDir(), mtime: st.ModTime().UnixNano()}
}
