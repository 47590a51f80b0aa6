package cert

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// idnaProfile converts Unicode names to their ASCII (punycode) form using
// the lookup rules of IDNA2008, as browsers and CAs do.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
)

// MaxNames is the most names one certificate may list. It is Let's
// Encrypt's limit: the CA refuses an order with more than 100 identifiers.
// The parsers of domains.conf and of labels refuse a longer list where they
// read it, so the CA is never asked.
const MaxNames = 100

// NormalizeDomain returns the canonical form of a certificate name: lower
// case, no trailing dot, Unicode labels converted to punycode. A leading
// "*." label (a wildcard) is allowed; a wildcard anywhere else, an IP
// address, a single-label name and labels that are not valid host-name
// labels are refused.
func NormalizeDomain(raw string) (string, error) {
	s := strings.TrimSuffix(strings.TrimSpace(raw), ".")
	if s == "" {
		return "", errors.New("empty domain name")
	}
	wildcard := false
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		wildcard, s = true, rest
	}
	if strings.Contains(s, "*") {
		return "", fmt.Errorf("%q: a wildcard is only allowed as the whole first label (*.example.com)", raw)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%q: not valid UTF-8", raw)
	}
	ascii, err := idnaProfile.ToASCII(s)
	if err != nil {
		return "", fmt.Errorf("%q: not a valid domain name: %v", raw, err)
	}
	ascii = strings.ToLower(ascii)
	// The encoder accepts some inputs whose punycode does not decode back
	// to a valid label; a name must survive a second pass unchanged.
	if again, err := idnaProfile.ToASCII(ascii); err != nil || again != ascii {
		return "", fmt.Errorf("%q: not a valid internationalised domain name", raw)
	}
	if err := checkHostname(ascii); err != nil {
		return "", fmt.Errorf("%q: %v", raw, err)
	}
	if wildcard {
		ascii = "*." + ascii
	}
	return ascii, nil
}

func checkHostname(s string) error {
	if len(s) > 253 {
		return errors.New("name longer than 253 characters")
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return errors.New("a certificate name needs at least two labels (example.com)")
	}
	for _, l := range labels {
		if l == "" {
			return errors.New("empty label")
		}
		if len(l) > 63 {
			return fmt.Errorf("label %q longer than 63 characters", l)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with a hyphen", l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("label %q contains %q", l, c)
			}
		}
	}
	last := labels[len(labels)-1]
	allDigits := true
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			allDigits = false
		}
	}
	if allDigits {
		return errors.New("IP addresses cannot be validated by DNS-01")
	}
	return nil
}

// LineageName derives a lineage name from a main domain: the domain with
// any leading "*." removed, as the seed image names its directories.
func LineageName(mainDomain string) string {
	return strings.TrimPrefix(mainDomain, "*.")
}

// ValidName reports whether name is safe to use as a directory name under
// live/ and archive/: a normalised domain-like string with no path
// separators, no "..", no leading dot or dash.
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("empty certificate name")
	case len(name) > 253:
		return fmt.Errorf("certificate name %q longer than 253 characters", name)
	case name[0] == '.' || name[0] == '-':
		return fmt.Errorf("certificate name %q must not start with %q", name, name[0])
	case strings.Contains(name, ".."):
		return fmt.Errorf("certificate name %q must not contain \"..\"", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("certificate name %q contains %q (allowed: a-z 0-9 . - _)", name, c)
		}
	}
	return nil
}

// CoveredBy reports whether name is matched by the wildcard pattern
// (e.g. "a.example.com" by "*.example.com"). The apex is not covered.
func CoveredBy(name, wildcard string) bool {
	base, ok := strings.CutPrefix(wildcard, "*.")
	if !ok || strings.HasPrefix(name, "*.") {
		return false
	}
	label, rest, found := strings.Cut(name, ".")
	return found && label != "" && rest == base
}
