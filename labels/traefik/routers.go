package traefik

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Cert is one certificate a TLS router asks for.
type Cert struct {
	// Router names the router, e.g. "http router web".
	Router string
	// Label is the label the names come from: the router's rule, or its
	// tls.domains[n].main.
	Label string
	// Domains are the names as written in the labels (not normalised);
	// the first is the main one.
	Domains []string
}

// LabelError is a problem with one Traefik label.
type LabelError struct {
	Label string
	Err   error
}

// Error names the label, then what is wrong.
func (e *LabelError) Error() string { return fmt.Sprintf("label %s: %v", e.Label, e.Err) }

// Unwrap returns the cause.
func (e *LabelError) Unwrap() error { return e.Err }

// router is one traefik.<proto>.routers.<name>.* group of labels.
type router struct {
	proto, name string
	opts        map[string]string // option (after the name) → value
}

// Certificates returns the certificates the TLS routers of one workload's
// labels ask for, in router order (HTTP then TCP, by name). A router uses
// TLS when its tls label is true, or it has tls.certresolver or
// tls.domains (an explicit tls=false turns it off). Its certificates are
// its tls.domains[n].main with tls.domains[n].sans (one per n), else the
// Host() names of an HTTP router's rule or the HostSNI() names of a TCP
// router's (HostSNI(`*`), the catch-all, names none). A router without a
// rule (Traefik's default rule) or without such a matcher asks for
// nothing. traefik.enable=false means no certificate at all. A problem
// (a rule that does not parse, sans without main) skips only its router.
func Certificates(labels map[string]string) ([]Cert, []error) {
	if v, ok := labels["traefik.enable"]; ok && strings.EqualFold(strings.TrimSpace(v), "false") {
		return nil, nil
	}
	var certs []Cert
	var problems []error
	for _, r := range routers(labels) {
		c, err := r.certificates()
		if err != nil {
			problems = append(problems, err)
			continue
		}
		certs = append(certs, c...)
	}
	return certs, problems
}

// routers groups the router labels, sorted by protocol and name.
func routers(labels map[string]string) []*router {
	byKey := map[string]*router{}
	for k, v := range labels {
		for _, proto := range []string{"http", "tcp"} {
			rest, ok := strings.CutPrefix(k, "traefik."+proto+".routers.")
			if !ok {
				continue
			}
			name, opt, ok := strings.Cut(rest, ".")
			if !ok || name == "" {
				continue
			}
			r := byKey[proto+" "+name]
			if r == nil {
				r = &router{proto: proto, name: name, opts: map[string]string{}}
				byKey[proto+" "+name] = r
			}
			r.opts[opt] = strings.TrimSpace(v)
		}
	}
	var out []*router
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		out = append(out, byKey[k])
	}
	return out
}

func (r *router) label(opt string) string {
	return "traefik." + r.proto + ".routers." + r.name + "." + opt
}

// tls reports whether the router terminates TLS.
func (r *router) tls() (bool, error) {
	if v, ok := r.opts["tls"]; ok {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return false, &LabelError{Label: r.label("tls"), Err: fmt.Errorf("%q is not true or false", v)}
		}
		if !on {
			return false, nil
		}
		return true, nil
	}
	for opt := range r.opts {
		if opt == "tls.certresolver" || strings.HasPrefix(opt, "tls.domains[") {
			return true, nil
		}
	}
	return false, nil
}

func (r *router) certificates() ([]Cert, error) {
	on, err := r.tls()
	if err != nil || !on {
		return nil, err
	}
	who := r.proto + " router " + r.name
	domains, err := r.tlsDomains()
	if err != nil || len(domains) > 0 {
		for i := range domains {
			domains[i].Router = who
		}
		return domains, err
	}
	rule, ok := r.opts["rule"]
	if !ok {
		return nil, nil
	}
	matcher := "Host"
	if r.proto == "tcp" {
		matcher = "HostSNI"
	}
	hosts, err := RuleHosts(rule, matcher)
	if err != nil {
		return nil, &LabelError{Label: r.label("rule"), Err: err}
	}
	hosts = slices.DeleteFunc(hosts, func(h string) bool { return strings.TrimSpace(h) == "*" })
	if len(hosts) == 0 {
		return nil, nil
	}
	return []Cert{{Router: who, Label: r.label("rule"), Domains: hosts}}, nil
}

// tlsDomains reads tls.domains[n].main and .sans, ordered by n.
func (r *router) tlsDomains() ([]Cert, error) {
	type entry struct {
		main, sans string
		hasMain    bool
	}
	entries := map[int]*entry{}
	for opt, v := range r.opts {
		rest, ok := strings.CutPrefix(opt, "tls.domains[")
		if !ok {
			continue
		}
		idx, field, ok := strings.Cut(rest, "].")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 0 || (field != "main" && field != "sans") {
			return nil, &LabelError{Label: r.label(opt), Err: errors.New("expected tls.domains[N].main or tls.domains[N].sans")}
		}
		e := entries[n]
		if e == nil {
			e = &entry{}
			entries[n] = e
		}
		if field == "main" {
			e.main, e.hasMain = v, true
		} else {
			e.sans = v
		}
	}
	var out []Cert
	for _, n := range slices.Sorted(maps.Keys(entries)) {
		e := entries[n]
		main := r.label(fmt.Sprintf("tls.domains[%d].main", n))
		if !e.hasMain || e.main == "" {
			return nil, &LabelError{Label: main, Err: errors.New("missing: every tls.domains entry needs a main name")}
		}
		names := []string{e.main}
		for _, s := range strings.Split(e.sans, ",") {
			if s = strings.TrimSpace(s); s != "" {
				names = append(names, s)
			}
		}
		out = append(out, Cert{Label: main, Domains: names})
	}
	return out, nil
}
