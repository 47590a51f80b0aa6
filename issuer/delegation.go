package issuer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

const (
	// challengeLabel is the DNS-01 label (RFC 8555 §8.4).
	challengeLabel = "_acme-challenge"
	// maxCNAMEHops bounds how far a delegation CNAME chain is followed.
	maxCNAMEHops = 8
	// delegationQueryTimeout bounds each query of the delegation check.
	delegationQueryTimeout = 5 * time.Second
)

// delegationTarget turns DELEGATED_SUBDOMAIN ("acme.delegated.net", with or
// without a trailing dot or a leading _acme-challenge label) into the fully
// qualified CNAME target every challenge name must have
// ("_acme-challenge.acme.delegated.net."); "" when unset.
func delegationTarget(sub string) (string, error) {
	s := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(sub)), ".")
	if s == "" {
		return "", nil
	}
	s = strings.TrimPrefix(s, challengeLabel+".")
	if _, ok := dns.IsDomainName(s); !ok || s == "" || strings.Contains(s, "*") || strings.Contains(s, "..") {
		return "", fmt.Errorf("issuer: DELEGATED_SUBDOMAIN %q is not a domain name (e.g. acme.delegated.net)", sub)
	}
	return dns.Fqdn(challengeLabel + "." + s), nil
}

// delegationError says that a challenge name is not delegated as
// DELEGATED_SUBDOMAIN requires, and which record fixes it.
type delegationError struct {
	name string // _acme-challenge.D., fully qualified
	want string // the required CNAME target, fully qualified
	got  string // the CNAME target found, "" when none
}

func (e *delegationError) Error() string {
	fix := e.name + " CNAME " + e.want
	if e.got == "" {
		return fmt.Sprintf("DNS-01 delegation (DELEGATED_SUBDOMAIN): %s has no CNAME record; create this record: %s", e.name, fix)
	}
	return fmt.Sprintf("DNS-01 delegation (DELEGATED_SUBDOMAIN): %s is a CNAME to %s, not to %s; replace it with this record: %s", e.name, e.got, e.want, fix)
}

// checkDelegation verifies, with the configured resolvers, that
// _acme-challenge.<domain> is a CNAME (directly or through a chain) to the
// DELEGATED_SUBDOMAIN target. It is the solver's precheck.
func (i *Issuer) checkDelegation(ctx context.Context, domain string) error {
	return i.checkDelegationTo(ctx, domain, i.delegateTo)
}

// checkDelegationTo is checkDelegation with the CNAME target to require
// (a DNS profile's own delegated subdomain).
func (i *Issuer) checkDelegationTo(ctx context.Context, domain, delegateTo string) error {
	name := dns.Fqdn(challengeLabel + "." + strings.TrimSuffix(strings.ToLower(domain), "."))
	servers, err := resolverAddrs(i.cfg.Resolvers)
	if err != nil {
		return fmt.Errorf("checking the delegation of %s: %w", name, err)
	}
	chain, err := cnameChain(ctx, servers, name)
	if err != nil {
		return fmt.Errorf("checking the delegation of %s: %w", name, err)
	}
	if slices.Contains(chain, delegateTo) {
		return nil
	}
	got := ""
	if len(chain) > 0 {
		got = chain[0]
	}
	return &delegationError{name: name, want: delegateTo, got: got}
}

// resolverAddrs returns host:port addresses of the resolvers to ask: the
// configured ones (port 53 added when missing), else the system's.
func resolverAddrs(configured []string) ([]string, error) {
	if len(configured) == 0 {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("no DNS_RESOLVERS and no system resolvers: %w", err)
		}
		for _, s := range cc.Servers {
			configured = append(configured, net.JoinHostPort(s, cc.Port))
		}
	}
	out := make([]string, 0, len(configured))
	for _, r := range configured {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(r); err != nil {
			r = net.JoinHostPort(strings.Trim(r, "[]"), "53")
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, errors.New("no DNS resolvers")
	}
	return out, nil
}

// cnameChain follows CNAME records from name and returns the targets in
// order (lower-case, fully qualified); empty when name is no CNAME.
func cnameChain(ctx context.Context, servers []string, name string) ([]string, error) {
	var chain []string
	cur := strings.ToLower(dns.Fqdn(name))
	seen := map[string]bool{cur: true}
	for range maxCNAMEHops {
		r, err := queryResolvers(ctx, servers, cur, dns.TypeCNAME)
		if err != nil {
			return chain, err
		}
		next := ""
		for _, rr := range r.Answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, cur) {
				next = strings.ToLower(dns.Fqdn(c.Target))
				break
			}
		}
		if next == "" || seen[next] {
			break
		}
		seen[next] = true
		chain = append(chain, next)
		cur = next
	}
	return chain, nil
}

// queryResolvers asks each server in turn (recursion desired, UDP then TCP
// when truncated) and returns the first NOERROR or NXDOMAIN answer.
func queryResolvers(ctx context.Context, servers []string, name string, qtype uint16) (*dns.Msg, error) {
	var errs []error
	for _, server := range servers {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.RecursionDesired = true
		c := &dns.Client{Timeout: delegationQueryTimeout}
		r, _, err := c.ExchangeContext(ctx, m, server)
		if err == nil && r.Truncated {
			c.Net = "tcp"
			r, _, err = c.ExchangeContext(ctx, m, server)
		}
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", server, err))
		case r.Rcode == dns.RcodeSuccess || r.Rcode == dns.RcodeNameError:
			return r, nil
		default:
			errs = append(errs, fmt.Errorf("%s answered %s for %s %s", server, dns.RcodeToString[r.Rcode], name, dns.TypeToString[qtype]))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}
