//go:build !(linux && (amd64 || arm64))

package store

// cpath is a path as given (converted by each call).
type cpath string

func toCPath(p string) cpath { return cpath(p) }

// stampAt is stampOf.
func stampAt(p cpath) (stamp, bool) { return stampOf(string(p)) }
