package dnspersist

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Label is the first label of every dns-persist-01 record name.
const Label = "_validation-persist"

// maxTXTString is the longest character-string of a TXT record (RFC 1035).
const maxTXTString = 255

// Want is the record one name needs so that the CA validates it.
type Want struct {
	// Name is the domain validated, without its wildcard label
	// ("example.com" for *.example.com).
	Name string
	// Wildcard: a wildcard of Name is requested, so the record needs
	// policy=wildcard (which also covers Name itself).
	Wildcard bool
	// Issuer is the CA's issuer domain name ("letsencrypt.org").
	Issuer string
	// AccountURI is the ACME account URL the record authorizes.
	AccountURI string
	// PersistUntil, when not zero, is written as persistUntil: the CA
	// stops accepting the record after it.
	PersistUntil time.Time
}

// Wants returns the records domains need, one per name in order of first
// appearance: a wildcard and its apex share one record, with
// policy=wildcard.
func Wants(domains []string, issuer, accountURI string, until time.Time) []Want {
	var out []Want
	index := map[string]int{}
	for _, d := range domains {
		name, wild := strings.CutPrefix(strings.TrimSuffix(strings.ToLower(d), "."), "*.")
		if i, ok := index[name]; ok {
			out[i].Wildcard = out[i].Wildcard || wild
			continue
		}
		index[name] = len(out)
		out = append(out, Want{Name: name, Wildcard: wild, Issuer: issuer, AccountURI: accountURI, PersistUntil: until})
	}
	return out
}

// FQDN is the record's name, fully qualified: "_validation-persist.<name>.".
func (w Want) FQDN() string { return FQDN(w.Name) }

// FQDN returns the dns-persist-01 record name of a domain (a wildcard's
// is its base name's), fully qualified.
func FQDN(domain string) string {
	d := strings.TrimPrefix(strings.TrimSuffix(strings.ToLower(domain), "."), "*.")
	return Label + "." + d + "."
}

// Value is the record's TXT value (an RFC 8659 issue-value).
func (w Want) Value() string {
	var b strings.Builder
	b.WriteString(w.Issuer)
	b.WriteString("; accounturi=")
	b.WriteString(w.AccountURI)
	if w.Wildcard {
		b.WriteString("; policy=wildcard")
	}
	if !w.PersistUntil.IsZero() {
		b.WriteString("; persistUntil=")
		b.WriteString(strconv.FormatInt(w.PersistUntil.Unix(), 10))
	}
	return b.String()
}

// ZoneLine is the record in zone-file syntax, ready to paste:
// `_validation-persist.<name>. IN TXT "<value>"` (a value longer than 255
// octets is split into several strings, as RFC 1035 requires).
func (w Want) ZoneLine() string {
	return w.FQDN() + " IN TXT " + QuoteTXT(w.Value())
}

// QuoteTXT quotes a TXT value as zone files write it, split into strings
// of at most 255 octets.
func QuoteTXT(v string) string {
	var parts []string
	for _, s := range SplitTXT(v) {
		parts = append(parts, strconv.Quote(s))
	}
	return strings.Join(parts, " ")
}

// SplitTXT splits a TXT value into the character-strings of one record.
func SplitTXT(v string) []string {
	if len(v) <= maxTXTString {
		return []string{v}
	}
	var out []string
	for len(v) > maxTXTString {
		out = append(out, v[:maxTXTString])
		v = v[maxTXTString:]
	}
	if v != "" {
		out = append(out, v)
	}
	return out
}

// Record is one parsed TXT value at a _validation-persist name.
type Record struct {
	// Issuer is the issuer domain name, lower case.
	Issuer string
	// AccountURI is the accounturi parameter ("" when absent).
	AccountURI string
	// Wildcard: policy=wildcard is present (case-insensitive).
	Wildcard bool
	// PersistUntil is the persistUntil parameter (zero when absent).
	PersistUntil time.Time
	// Raw is the value as DNS answered it.
	Raw string
}

// Parse reads a TXT value as an RFC 8659 issue-value with the
// parameters dns-persist-01 defines. Unknown parameters are allowed; a
// parameter without '=', an empty or repeated one, or a persistUntil that
// is not a number is an error.
func Parse(v string) (Record, error) {
	fields := strings.Split(v, ";")
	r := Record{Issuer: strings.ToLower(trimWSP(fields[0])), Raw: v}
	if r.Issuer == "" {
		return r, fmt.Errorf("no issuer domain name")
	}
	seen := map[string]bool{}
	for _, f := range fields[1:] {
		f = trimWSP(f)
		tag, val, ok := strings.Cut(f, "=")
		tag, val = strings.ToLower(trimWSP(tag)), trimWSP(val)
		switch {
		case f == "":
			return r, fmt.Errorf("empty parameter")
		case !ok || tag == "":
			return r, fmt.Errorf("malformed parameter %q (want tag=value)", f)
		case seen[tag]:
			return r, fmt.Errorf("parameter %q given twice", tag)
		}
		seen[tag] = true
		switch tag {
		case "accounturi":
			if val == "" {
				return r, fmt.Errorf("empty accounturi")
			}
			r.AccountURI = val
		case "policy":
			// Any other policy value counts as none (draft §4).
			r.Wildcard = strings.EqualFold(val, "wildcard")
		case "persistuntil":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return r, fmt.Errorf("persistUntil %q is not a Unix time", val)
			}
			r.PersistUntil = time.Unix(n, 0).UTC()
		}
	}
	return r, nil
}

func trimWSP(s string) string { return strings.Trim(s, " \t") }
