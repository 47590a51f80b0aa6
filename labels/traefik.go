package labels

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/labels/traefik"
)

// TraefikSpecs turns the certificates of a workload's Traefik TLS routers
// (see package traefik) into specs carrying actions. A certificate whose
// lineage name one of defined already has (certdock's own labels win), or
// an earlier router's, is left out; one with other names under the same
// lineage is reported. Names are normalised and checked against allowed
// (CERTDOCK_ALLOWED_DOMAINS). Every problem is an *Error naming the
// workload and the Traefik label at fault; it skips only that
// certificate.
func TraefikSpecs(w Workload, allowed *Allowlist, src cert.Source, actions []cert.Action, defined []cert.Spec) ([]cert.Spec, []error) {
	certs, tprobs := traefik.Certificates(w.Labels)
	var problems []error
	for _, p := range tprobs {
		var le *traefik.LabelError
		if errors.As(p, &le) {
			problems = append(problems, &Error{Workload: w.String(), Label: le.Label, Err: le.Err})
		} else {
			problems = append(problems, &Error{Workload: w.String(), Label: "traefik.*", Err: p})
		}
	}
	var specs []cert.Spec
	for _, c := range certs {
		fail := func(format string, args ...any) {
			problems = append(problems, &Error{Workload: w.String(), Label: c.Label, Err: fmt.Errorf(format, args...)})
		}
		domains, err := parseDomains(strings.Join(c.Domains, ","))
		if err != nil {
			fail("%v", err)
			continue
		}
		if bad := slices.IndexFunc(domains, func(d string) bool { return allowed != nil && !allowed.Allows(d) }); bad >= 0 {
			fail("%s is not allowed by CERTDOCK_ALLOWED_DOMAINS (%s)", domains[bad], allowed)
			continue
		}
		name := cert.LineageName(domains[0])
		if i := slices.IndexFunc(defined, func(s cert.Spec) bool { return s.Name == name && len(s.Domains) > 0 }); i >= 0 {
			continue // certdock's own label defines it
		}
		if i := slices.IndexFunc(specs, func(s cert.Spec) bool { return s.Name == name }); i >= 0 {
			if !cert.SameDomains(specs[i].Domains, domains) {
				fail("%s asks for certificate %s with %s, another router of this workload with %s: give one of them tls.domains",
					c.Router, name, strings.Join(domains, ","), strings.Join(specs[i].Domains, ","))
			}
			continue
		}
		specs = append(specs, cert.Spec{Name: name, Domains: domains, Source: src, Actions: slices.Clone(actions)})
	}
	return specs, problems
}
