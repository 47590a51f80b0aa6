package labels

import (
	"fmt"
	"strings"

	"github.com/certdock/certdock/cert"
)

// Allowlist limits the names labels may request (CERTDOCK_ALLOWED_DOMAINS).
// A pattern "example.com" allows exactly that name; "*.example.com" allows
// every name below example.com (at any depth, wildcards included) but not
// example.com itself.
type Allowlist struct {
	exact    map[string]bool
	suffixes []string // ".example.com"
	raw      []string
}

// ParseAllowlist reads a comma or space separated list of patterns.
func ParseAllowlist(s string) (*Allowlist, error) {
	a := &Allowlist{exact: map[string]bool{}}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		n, err := cert.NormalizeDomain(f)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %v", f, err)
		}
		if base, ok := strings.CutPrefix(n, "*."); ok {
			a.suffixes = append(a.suffixes, "."+base)
		} else {
			a.exact[n] = true
		}
		a.raw = append(a.raw, n)
	}
	if len(a.raw) == 0 {
		return nil, fmt.Errorf("no pattern in %q", s)
	}
	return a, nil
}

// Allows reports whether a normalised name may be requested by a label.
func (a *Allowlist) Allows(name string) bool {
	if a.exact[name] {
		return true
	}
	bare := strings.TrimPrefix(name, "*.")
	for _, s := range a.suffixes {
		if strings.HasSuffix(bare, s) || (strings.HasPrefix(name, "*.") && "."+bare == s) {
			return true
		}
	}
	return false
}

// String lists the patterns.
func (a *Allowlist) String() string { return strings.Join(a.raw, ",") }
