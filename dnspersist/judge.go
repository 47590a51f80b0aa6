package dnspersist

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Problem says why the records at a name do not authorize the wanted
// validation.
type Problem int

// The problems, from none to the most specific.
const (
	// OK: a record authorizes the validation.
	OK Problem = iota
	// Missing: no record for this CA at the name.
	Missing
	// Malformed: a record for this CA cannot be parsed.
	Malformed
	// OtherAccount: records for this CA authorize other ACME accounts
	// only (typically after a new account was registered).
	OtherAccount
	// Expired: the record for this account has a persistUntil in the past.
	Expired
	// NoWildcardPolicy: the record for this account lacks policy=wildcard,
	// which a wildcard name needs.
	NoWildcardPolicy
)

// String names the problem as logs and status print it.
func (p Problem) String() string {
	switch p {
	case OK:
		return "ok"
	case Missing:
		return "missing"
	case Malformed:
		return "malformed"
	case OtherAccount:
		return "another account"
	case Expired:
		return "expired"
	case NoWildcardPolicy:
		return "no wildcard policy"
	}
	return fmt.Sprintf("problem %d", int(p))
}

// Verdict is the judgement of the TXT values found at one name.
type Verdict struct {
	Problem Problem
	// Match is the record that authorizes the validation (Problem OK).
	Match Record
	// Others are the account URLs of records for this CA that authorize
	// another account, sorted (also when another record is OK: records
	// left from a previous account).
	Others []string
	// Detail says what is wrong, naming the record (empty when OK).
	Detail string
}

// Judge tells whether txts, the TXT values at w.FQDN(), authorize the
// validation w describes at now: a record of w.Issuer (or of one of
// alsoIssuers, other issuer domain names the CA accepts) for
// w.AccountURI, with policy=wildcard when w.Wildcard, whose persistUntil
// (when set) is after now. Records of other CAs are ignored. When none
// authorizes it, the verdict names the most specific problem.
func Judge(w Want, txts []string, now time.Time, alsoIssuers ...string) Verdict {
	issuers := append([]string{strings.ToLower(w.Issuer)}, alsoIssuers...)
	v := Verdict{Problem: Missing}
	var malformed []string
	var match *Record
	for _, t := range txts {
		r, err := Parse(t)
		if !slices.Contains(issuers, r.Issuer) {
			continue // another CA's record (or not an issue-value at all)
		}
		if err != nil {
			malformed = append(malformed, fmt.Sprintf("%q: %v", t, err))
			continue
		}
		switch {
		case r.AccountURI == "":
			malformed = append(malformed, fmt.Sprintf("%q: no accounturi", t))
		case r.AccountURI != w.AccountURI:
			if !slices.Contains(v.Others, r.AccountURI) {
				v.Others = append(v.Others, r.AccountURI)
			}
			v.Problem = max(v.Problem, OtherAccount)
		case !r.PersistUntil.IsZero() && !now.Before(r.PersistUntil):
			v.Problem, v.Match = max(v.Problem, Expired), r
		case w.Wildcard && !r.Wildcard:
			v.Problem, v.Match = max(v.Problem, NoWildcardPolicy), r
		default:
			if match == nil {
				match = &r
			}
		}
	}
	slices.Sort(v.Others)
	if match != nil {
		return Verdict{Problem: OK, Match: *match, Others: v.Others}
	}
	if v.Problem == Missing && len(malformed) > 0 {
		v.Problem = Malformed
	}
	name := strings.TrimSuffix(w.FQDN(), ".")
	switch v.Problem {
	case Missing:
		v.Detail = fmt.Sprintf("%s has no dns-persist-01 record for %s", name, w.Issuer)
	case Malformed:
		v.Detail = fmt.Sprintf("%s has a malformed record for %s: %s", name, w.Issuer, strings.Join(malformed, "; "))
	case OtherAccount:
		v.Detail = fmt.Sprintf("%s authorizes another ACME account (accounturi=%s), not the current one %s (was a new account registered?)",
			name, strings.Join(v.Others, ", "), w.AccountURI)
	case Expired:
		v.Detail = fmt.Sprintf("%s expired: persistUntil=%d (%s) is in the past",
			name, v.Match.PersistUntil.Unix(), v.Match.PersistUntil.UTC().Format(time.RFC3339))
	case NoWildcardPolicy:
		v.Detail = fmt.Sprintf("%s lacks policy=wildcard, which *.%s needs", name, w.Name)
	}
	return v
}
