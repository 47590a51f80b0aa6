package labels

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/certdock/certdock/cert"
)

// Kind is the kind of workload carrying labels.
type Kind string

// Workload kinds.
const (
	Container Kind = "container"
	Service   Kind = "service"
)

// Workload is one container or Swarm service and its labels.
type Workload struct {
	Kind   Kind
	Name   string
	Labels map[string]string
}

// String names the workload in messages, e.g. "container web".
func (w Workload) String() string { return string(w.Kind) + " " + w.Name }

// Label key suffixes, after "<prefix>.".
const (
	KeyDomains = "domains"
	KeyName    = "name"
	KeyCert    = "cert"
	KeyRestart = "restart"
	KeySignal  = "signal"
	KeyExec    = "exec"
	// KeySecrets (true/false) delivers the workload's certificates as
	// Swarm secrets; only a Swarm service may carry it.
	KeySecrets = "secrets"
	// KeySecretsDir is the directory of the files in each task: relative
	// to /run/secrets or absolute; by default the lineage name.
	KeySecretsDir = "secrets.dir"
	// KeySecretsUID and KeySecretsGID own the files: numeric IDs, 0 by
	// default.
	KeySecretsUID = "secrets.uid"
	KeySecretsGID = "secrets.gid"
	// KeySecretsMode is the octal mode of all four files; by default
	// 0400 for privkey.pem and 0444 for the others.
	KeySecretsMode = "secrets.mode"
	// KeyProfile names the DNS profile that solves the certificates the
	// workload defines (KeyDomains, and its Traefik routers'), instead of
	// the profile their zone falls to.
	KeyProfile = "profile"
)

var knownKeys = []string{KeyDomains, KeyName, KeyCert, KeyRestart, KeySignal, KeyExec,
	KeySecrets, KeySecretsDir, KeySecretsUID, KeySecretsGID, KeySecretsMode, KeyProfile}

// Error is a problem with one label of one workload.
type Error struct {
	Workload string // e.g. "container web"
	Label    string // full label key
	Err      error
}

// Error names the workload and the label, then what is wrong.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: label %s: %v", e.Workload, e.Label, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Parse reads one workload's labels. It returns the specs the workload
// defines (with its action and delivery attached) and its subscriptions:
// specs with a Name and Actions or Deliveries but no Domains, meaning
// "act on me, deliver to me, when certificate Name changes". When a label
// is malformed, the problem is returned and the workload contributes
// nothing (skipped), so one bad workload never affects the others. The
// exception is certdock.secrets and its options: a problem there skips
// only the delivery, and the certificates are still requested. allowed
// may be nil (everything allowed).
func Parse(prefix string, w Workload, allowed *Allowlist) (specs []cert.Spec, problems []error) {
	return ParseWith(prefix, w, Options{Allowed: allowed})
}

// Options adjust ParseWith.
type Options struct {
	// Allowed limits the names labels may request; nil allows every name.
	Allowed *Allowlist
	// Traefik also reads the workload's Traefik router labels
	// (CERTDOCK_TRAEFIK_LABELS): see TraefikSpecs.
	Traefik bool
}

// ParseWith is Parse with options: with Traefik, the certificates of the
// workload's TLS routers are defined too, and certdock's own labels on
// the workload (restart, signal, exec, secrets) act on them as well.
func ParseWith(prefix string, w Workload, opts Options) (specs []cert.Spec, problems []error) {
	allowed := opts.Allowed
	get := func(k string) (string, bool) {
		v, ok := w.Labels[prefix+"."+k]
		return strings.TrimSpace(v), ok
	}
	fail := func(k string, format string, args ...any) {
		problems = append(problems, &Error{Workload: w.String(), Label: prefix + "." + k, Err: fmt.Errorf(format, args...)})
	}
	for _, k := range slices.Sorted(maps.Keys(w.Labels)) {
		suffix, ok := strings.CutPrefix(k, prefix+".")
		// Keys with a dot are left to other tools (prefix.x.y), except
		// under prefix.secrets., which is certdock's.
		if ok && !slices.Contains(knownKeys, suffix) && (!strings.Contains(suffix, ".") || strings.HasPrefix(suffix, KeySecrets+".")) {
			problems = append(problems, &Error{Workload: w.String(), Label: k,
				Err: fmt.Errorf("unknown label (known: %s)", strings.Join(prefixed(prefix), ", "))})
		}
	}

	action, hasAction, err := parseAction(prefix, w, get)
	if err != nil {
		return nil, append(problems, err)
	}
	src := cert.Source{Kind: cert.FromLabel, Workload: w.String()}
	var actions []cert.Action
	if hasAction {
		actions = []cert.Action{action}
	}

	var defined []cert.Spec
	if raw, ok := get(KeyDomains); ok {
		domains, derr := parseDomains(raw)
		if derr != nil {
			fail(KeyDomains, "%v", derr)
			return nil, problems
		}
		if allowed != nil {
			for _, d := range domains {
				if !allowed.Allows(d) {
					fail(KeyDomains, "%s is not allowed by CERTDOCK_ALLOWED_DOMAINS (%s)", d, allowed)
					return nil, problems
				}
			}
		}
		name := cert.LineageName(domains[0])
		if n, ok := get(KeyName); ok {
			name = strings.ToLower(n)
			if err := cert.ValidName(name); err != nil {
				fail(KeyName, "%v", err)
				return nil, problems
			}
		}
		profile, _ := get(KeyProfile)
		profile = strings.ToLower(profile)
		defined = append(defined, cert.Spec{Name: name, Domains: domains, Source: src, Actions: actions, DNSProfile: profile})
	} else if _, ok := get(KeyName); ok {
		fail(KeyName, "needs %s.%s (the names to put in the certificate)", prefix, KeyDomains)
		return nil, problems
	}
	if raw, ok := get(KeyCert); ok {
		names, cerr := parseNames(raw)
		if cerr != nil {
			fail(KeyCert, "%v", cerr)
			return nil, problems
		}
		for _, n := range names {
			defined = append(defined, cert.Spec{Name: n, Source: src, Actions: actions})
		}
	}
	if opts.Traefik {
		ts, tp := TraefikSpecs(w, allowed, src, actions, defined)
		profile, _ := get(KeyProfile)
		for i := range ts {
			ts[i].DNSProfile = strings.ToLower(profile)
		}
		defined = append(defined, ts...)
		problems = append(problems, tp...)
	}
	if _, ok := get(KeyProfile); ok && !slices.ContainsFunc(defined, func(s cert.Spec) bool { return len(s.Domains) > 0 }) {
		fail(KeyProfile, "no certificate of this workload to solve: add %s.%s (or Traefik TLS routers with CERTDOCK_TRAEFIK_LABELS)", prefix, KeyDomains)
		return nil, problems
	}
	if hasAction && len(defined) == 0 {
		fail(actionKey(action), "no certificate to act on: add %s.%s or %s.%s", prefix, KeyDomains, prefix, KeyCert)
		return nil, problems
	}
	problems = append(problems, attachDelivery(prefix, w, get, defined)...)
	return defined, problems
}

func prefixed(prefix string) []string {
	out := make([]string, len(knownKeys))
	for i, k := range knownKeys {
		out[i] = prefix + "." + k
	}
	return out
}

func actionKey(a cert.Action) string {
	switch a.Kind {
	case cert.Exec:
		return KeyExec
	case cert.Signal:
		return KeySignal
	}
	return KeyRestart
}

// parseAction reads restart / signal / exec: at most one may be given.
func parseAction(prefix string, w Workload, get func(string) (string, bool)) (cert.Action, bool, error) {
	var set []string
	var a cert.Action
	bad := func(k string, err error) (cert.Action, bool, error) {
		return cert.Action{}, false, &Error{Workload: w.String(), Label: prefix + "." + k, Err: err}
	}
	if v, ok := get(KeyRestart); ok {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return bad(KeyRestart, fmt.Errorf("%q is not true or false", v))
		}
		if on {
			set = append(set, KeyRestart)
			a = cert.Action{Kind: cert.Restart, Target: w.Name, Service: w.Kind == Service}
		}
	}
	if v, ok := get(KeySignal); ok {
		sig, err := cert.ParseSignal(v)
		if err != nil {
			return bad(KeySignal, err)
		}
		set = append(set, KeySignal)
		a = cert.Action{Kind: cert.Signal, Target: w.Name, Signal: sig}
	}
	if v, ok := get(KeyExec); ok {
		argv, err := SplitCommand(v)
		if err != nil {
			return bad(KeyExec, err)
		}
		set = append(set, KeyExec)
		a = cert.Action{Kind: cert.Exec, Target: w.Name, Command: argv}
	}
	switch {
	case len(set) > 1:
		return bad(set[1], fmt.Errorf("conflicts with %s.%s: give one of restart, signal, exec", prefix, set[0]))
	case len(set) == 1 && w.Kind == Service && a.Kind != cert.Restart:
		return bad(set[0], errors.New("a Swarm service can only be force-updated (restart=true): signal and exec would act on one task, not the service"))
	}
	return a, len(set) == 1, nil
}

// parseDomains splits a comma (or space) separated list and normalises
// each name; more than cert.MaxNames distinct names, or a name covered by a
// wildcard of the same list, is refused, as the CA would.
func parseDomains(raw string) ([]string, error) {
	fields := strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(fields) == 0 {
		return nil, errors.New("empty: give at least one domain name")
	}
	var out []string
	seen := make(map[string]bool, len(fields))
	for _, f := range fields {
		d, err := cert.NormalizeDomain(f)
		if err != nil {
			return nil, err
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	if len(out) > cert.MaxNames {
		return nil, fmt.Errorf("%d names; the CA's limit is %d names per certificate", len(out), cert.MaxNames)
	}
	for _, d := range out {
		for _, w := range out {
			if cert.CoveredBy(d, w) {
				return nil, fmt.Errorf("%s is already covered by %s", d, w)
			}
		}
	}
	return out, nil
}

func parseNames(raw string) ([]string, error) {
	fields := strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(fields) == 0 {
		return nil, errors.New("empty: give at least one certificate name")
	}
	var out []string
	for _, f := range fields {
		n := cert.LineageName(strings.ToLower(strings.TrimSuffix(f, ".")))
		if err := cert.ValidName(n); err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}
