//go:build !linux

package memtrim

// pageOut does nothing outside Linux.
func pageOut(addr, n uintptr) error { return nil }
