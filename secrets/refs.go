package secrets

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/certdock/certdock/cert"
)

// Ref is one reference of a service's spec to a secret: the file Target
// in every task (Swarm's File.Name: relative to /run/secrets, or
// absolute), owned by UID:GID with Mode. The secret's ID is left to the
// caller, which resolves names when it writes the spec.
type Ref struct {
	SecretName string
	Target     string
	UID, GID   string
	Mode       fs.FileMode
}

// String renders the reference for logs, e.g.
// "certdock.example.com.v3.cert.pem at example.com/cert.pem (0:0 0444)".
func (r Ref) String() string {
	return fmt.Sprintf("%s at %s (%s:%s %04o)", r.SecretName, r.Target, r.UID, r.GID, uint32(r.Mode))
}

// Refs returns the references one service should hold for version of
// lineage: one per file of Files, in d.Dir (the lineage name when empty),
// privkey.pem with d.KeyMode and the others with d.Mode. An empty UID or
// GID becomes "0", as the engine cannot start a task with an empty one.
func Refs(lineage string, version int, d cert.Delivery) []Ref {
	dir, uid, gid := cmp.Or(d.Dir, lineage), cmp.Or(d.UID, "0"), cmp.Or(d.GID, "0")
	out := make([]Ref, 0, len(Files))
	for _, f := range Files {
		mode := d.Mode
		if f == FilePrivkey {
			mode = d.KeyMode
		}
		out = append(out, Ref{SecretName: Name(lineage, version, f), Target: path.Join(dir, f), UID: uid, GID: gid, Mode: mode})
	}
	return out
}

// ErrCollision: a reference certdock wants meets one to a secret certdock
// did not create (same secret name, or same target). The user's reference
// is never replaced; the delivery waits until the user resolves it.
var ErrCollision = errors.New("collides with a secret certdock did not create")

// Plan decides a service's secret references from the current ones and
// desired, the references of the lineages delivered to it (Refs, for one
// or more lineages). managed reports whether the secret of that name
// carries certdock's label (Managed).
//
// Every reference certdock does not manage is kept, as are certdock's
// references of lineages not in desired (a delivery skipped for a bad
// label is left as it was). certdock's references of a lineage in desired,
// and any of certdock's references at a desired target, are replaced by
// desired: all files of a lineage move in one update. update is false
// when the result holds the same references as current, in any order;
// next is then current itself.
//
// A reference to a secret certdock did not create whose name (regardless
// of case) or target is one that desired wants is an error wrapping
// ErrCollision and naming it, as are two desired references with one
// target; next is then nil and the spec must not be changed.
func Plan(current, desired []Ref, managed func(name string) bool) (update bool, next []Ref, err error) {
	stems := map[string]bool{}
	targets := map[string]string{} // desired target → secret name
	var errs []error
	for _, d := range desired {
		if s, _, _, ok := parse(d.SecretName); ok {
			stems[s] = true
		}
		if other, dup := targets[d.Target]; dup {
			errs = append(errs, fmt.Errorf("secrets: %s and %s would both be mounted at %s", other, d.SecretName, d.Target))
		}
		targets[d.Target] = d.SecretName
	}
	var kept []Ref
	for _, c := range current {
		if !managed(c.SecretName) {
			if i := slices.IndexFunc(desired, func(d Ref) bool { return strings.EqualFold(d.SecretName, c.SecretName) }); i >= 0 {
				errs = append(errs, fmt.Errorf("secrets: the service mounts secret %s at %s, which has the name certdock wants but %w", c.SecretName, c.Target, ErrCollision))
			} else if want, ok := targets[c.Target]; ok {
				errs = append(errs, fmt.Errorf("secrets: the service mounts secret %s at %s, where certdock delivers %s: it %w", c.SecretName, c.Target, want, ErrCollision))
			}
			kept = append(kept, c)
			continue
		}
		if s, _, _, ok := parse(c.SecretName); ok && stems[s] {
			continue
		}
		if _, ok := targets[c.Target]; ok {
			continue
		}
		kept = append(kept, c)
	}
	if len(errs) > 0 {
		return false, nil, errors.Join(errs...)
	}
	next = append(kept, desired...)
	if sameRefs(current, next) {
		return false, current, nil
	}
	return true, next, nil
}

// sameRefs reports whether a and b hold the same references, in any order.
func sameRefs(a, b []Ref) bool {
	if len(a) != len(b) {
		return false
	}
	order := func(x, y Ref) int {
		return cmp.Or(strings.Compare(x.Target, y.Target), strings.Compare(x.SecretName, y.SecretName),
			strings.Compare(x.UID, y.UID), strings.Compare(x.GID, y.GID), cmp.Compare(x.Mode, y.Mode))
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.SortFunc(x, order)
	slices.SortFunc(y, order)
	return slices.Equal(x, y)
}
