package issuer_test

import (
	"strings"
	"testing"

	"github.com/certdock/certdock/internal/testenv"
	"github.com/certdock/certdock/issuer"
)

// TestE2EProfileDelegation: the CNAME delegation check is a profile's own.
// A profile with a delegated subdomain refuses a name without the CNAME
// (naming the record to create) and issues through it; the default
// provider, without one, issues the same name directly. Each order records
// the provider that solved it.
func TestE2EProfileDelegation(t *testing.T) {
	w := newWorld(t, nil, "example.com", "delegated.net")
	const target = "_acme-challenge.acme.delegated.net."
	w.bind.AddCNAME(t, "_acme-challenge.www.example.com.", target)
	ctx := ctxFor(t)
	iss := w.issuer(t, func(c *issuer.Config) {
		c.Profiles = map[string]issuer.Profile{"deleg": {Provider: w.provider, ProviderName: "dnsupdate", DelegatedSubdomain: "acme.delegated.net"}}
	})

	s := spec(testenv.DefaultProfile, "www.example.com")
	s.DNSProfile = "deleg"
	_, meta, err := iss.Issue(ctx, s)
	if err != nil {
		t.Fatalf("delegated issue through the profile: %v", err)
	}
	if meta.Provider != "dnsupdate" {
		t.Errorf("recorded provider %q, want the profile's", meta.Provider)
	}

	s = spec(testenv.DefaultProfile, "shop.example.com")
	s.DNSProfile = "deleg"
	before := len(w.provider.presented())
	_, _, err = iss.Issue(ctx, s)
	if k, ok := kindOf(err); !ok || k != issuer.KindConfig || !strings.Contains(err.Error(), "_acme-challenge.shop.example.com. CNAME "+target) {
		t.Fatalf("profile without the CNAME: %v (kind %v)", err, k)
	}
	if got := w.provider.presented(); len(got) != before {
		t.Errorf("records presented despite the failed check: %v", got[before:])
	}

	s.DNSProfile = ""
	_, meta, err = iss.Issue(ctx, s)
	if err != nil || meta.Provider != "rfc2136" {
		t.Fatalf("default provider (no delegation check): %v, provider %q", err, meta.Provider)
	}

	s.DNSProfile = "nope"
	if _, _, err := iss.Issue(ctx, s); err == nil || !strings.Contains(err.Error(), `unknown DNS profile "nope" (known: deleg)`) {
		t.Errorf("unknown profile: %v", err)
	}
}
