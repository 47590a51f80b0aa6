package issuer

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-acme/lego/v5/acme"
	"github.com/miekg/dns"
)

// startDNS serves cnames (lower-case FQDN → target) on a loopback UDP
// port; names in servfail answer SERVFAIL, others NXDOMAIN.
func startDNS(t *testing.T, cnames map[string]string, servfail ...string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) }, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		switch target, ok := cnames[name]; {
		case ok:
			m.Answer = append(m.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: target})
		case slices.Contains(servfail, name):
			m.Rcode = dns.RcodeServerFailure
		default:
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestDelegationTarget(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   "",
		"acme.delegated.net":                 "_acme-challenge.acme.delegated.net.",
		" ACME.Delegated.NET. ":              "_acme-challenge.acme.delegated.net.",
		"_acme-challenge.acme.delegated.net": "_acme-challenge.acme.delegated.net.",
	} {
		if got, err := delegationTarget(in); err != nil || got != want {
			t.Errorf("delegationTarget(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"*.delegated.net", "a..b", "."} {
		if got, err := delegationTarget(bad); err == nil && got != "" {
			t.Errorf("delegationTarget(%q) = %q, want an error", bad, got)
		}
	}
	if _, err := New(Config{DirectoryURL: "https://ca.example/dir", DelegatedSubdomain: "*.x"}); err == nil || !strings.Contains(err.Error(), "DELEGATED_SUBDOMAIN") {
		t.Errorf("New with a bad DELEGATED_SUBDOMAIN: %v", err)
	}
}

func TestResolverAddrs(t *testing.T) {
	got, err := resolverAddrs([]string{"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]", "[::1]:53", " "})
	want := []string{"127.0.0.1:53", "127.0.0.1:5353", "[::1]:53", "[::1]:53", "[::1]:53"}
	if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("resolverAddrs = %v, %v; want %v", got, err, want)
	}
}

func TestCheckDelegation(t *testing.T) {
	const target = "_acme-challenge.acme.delegated.net."
	addr := startDNS(t, map[string]string{
		"_acme-challenge.ok.example.com.":    target,
		"_acme-challenge.upper.example.com.": "_ACME-CHALLENGE.ACME.DELEGATED.NET.",
		"_acme-challenge.chain.example.com.": "hop.example.org.",
		"hop.example.org.":                   target,
		"_acme-challenge.wrong.example.com.": "_acme-challenge.other.delegated.net.",
		"_acme-challenge.loop.example.com.":  "a.loop.",
		"a.loop.":                            "_acme-challenge.loop.example.com.",
	}, "_acme-challenge.broken.example.com.")
	// The first resolver is closed: the check moves on to the next.
	closed, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := closed.LocalAddr().String()
	closed.Close()

	i, err := New(Config{DirectoryURL: "https://ca.example/dir", DelegatedSubdomain: "acme.delegated.net", Resolvers: []string{dead, addr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, d := range []string{"ok.example.com", "OK.Example.COM.", "upper.example.com", "chain.example.com"} {
		if err := i.checkDelegation(ctx, d); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	tests := []struct {
		domain string
		want   []string
	}{
		{"missing.example.com", []string{"_acme-challenge.missing.example.com. has no CNAME", "create this record: _acme-challenge.missing.example.com. CNAME _acme-challenge.acme.delegated.net."}},
		{"wrong.example.com", []string{"is a CNAME to _acme-challenge.other.delegated.net.", "_acme-challenge.wrong.example.com. CNAME _acme-challenge.acme.delegated.net."}},
		{"loop.example.com", []string{"is a CNAME to a.loop."}},
	}
	for _, tt := range tests {
		err := i.checkDelegation(ctx, tt.domain)
		var de *delegationError
		var e *Error
		if !errors.As(err, &de) || !errors.As(classify(err), &e) || e.Kind != KindConfig {
			t.Errorf("%s: %v, want a KindConfig delegation error", tt.domain, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tt.domain, err, w)
			}
		}
	}
	// A resolver failure is not a missing record: retry later.
	err = i.checkDelegation(ctx, "broken.example.com")
	var de *delegationError
	var e *Error
	if err == nil || errors.As(err, &de) || !errors.As(classify(err), &e) || e.Kind != KindRetry || !strings.Contains(err.Error(), "SERVFAIL") {
		t.Errorf("SERVFAIL: %v", err)
	}
}

func TestSolverPrecheckRunsBeforeAnyRecord(t *testing.T) {
	var calls atomic.Int32
	s := &solver{precheck: func(_ context.Context, domain string) error {
		calls.Add(1)
		if domain == "bad.example.com" {
			return &delegationError{name: "_acme-challenge.bad.example.com.", want: "t."}
		}
		return nil
	}}
	authz := func(domain string, status string) acme.Authorization {
		return acme.Authorization{Status: status, Identifier: acme.Identifier{Type: "dns", Value: domain}}
	}
	// chlg is nil: presenting anything would panic.
	err := s.Solve(context.Background(), []acme.Authorization{
		authz("good.example.com", acme.StatusPending),
		authz("bad.example.com", acme.StatusPending),
		authz("done.example.com", acme.StatusValid),
		authz("good.example.com", acme.StatusPending), // the wildcard's authorization
	})
	var de *delegationError
	if !errors.As(err, &de) || calls.Load() != 2 {
		t.Fatalf("err %v after %d checks; want the delegation error, valid authorizations unchecked", err, calls.Load())
	}
}
