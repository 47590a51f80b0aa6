package issuer

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/go-acme/lego/v5/challenge"
)

type nopProvider struct{}

func (nopProvider) Present(context.Context, string, string, string) error { return nil }
func (nopProvider) CleanUp(context.Context, string, string, string) error { return nil }

func TestDNSFor(t *testing.T) {
	cfg := Config{Provider: nopProvider{}, ProviderName: "cloudflare", Profiles: map[string]Profile{
		"good":   {Provider: nopProvider{}, ProviderName: "rfc2136", DelegatedSubdomain: "acme.example.net"},
		"broken": {ProviderErr: errors.New("DNSUPDATE_NAMESERVER missing"), ProviderName: "rfc2136"},
	}}
	ds, err := newDNSSetups(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	i := &Issuer{cfg: cfg, dns: ds}
	if d, err := i.dnsFor(""); err != nil || d.providerName != "cloudflare" || d.delegateTo != "" {
		t.Errorf("default: %+v, %v", d, err)
	}
	if d, err := i.dnsFor("good"); err != nil || d.providerName != "rfc2136" || d.delegateTo != "_acme-challenge.acme.example.net." {
		t.Errorf("good: %+v, %v", d, err)
	}
	if _, err := i.dnsFor("broken"); err == nil || err.Error() != `DNS profile broken (provider "rfc2136"): DNSUPDATE_NAMESERVER missing` {
		t.Errorf("broken: %v", err)
	}
	if _, err := i.dnsFor("nope"); err == nil || err.Error() != `unknown DNS profile "nope" (known: broken, good)` {
		t.Errorf("unknown: %v", err)
	}
	cfg.Profiles["bad"] = Profile{Provider: nopProvider{}, DelegatedSubdomain: "a..b"}
	if _, err := newDNSSetups(cfg, ""); err == nil || !strings.Contains(err.Error(), "DNS profile bad") {
		t.Errorf("bad delegation accepted: %v", err)
	}
}

// TestBuildProviderIsolatesCredentials checks that a profile's provider
// sees its own variables only: none of the default provider's variables
// of the same namespace leak into it, and the environment is as before
// afterwards.
func TestBuildProviderIsolatesCredentials(t *testing.T) {
	t.Setenv("DNSUPDATE_TSIG_KEY", "default-key.")
	t.Setenv("DNSUPDATE_TSIG_SECRET", "default-secret")
	t.Setenv("RFC2136_NAMESERVER", "192.0.2.1:53")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("CERTDOCK_PROFILE_A_PROVIDER", "rfc2136")
	var seen map[string]string
	read := func() (challenge.Provider, error) {
		seen = map[string]string{}
		for _, k := range []string{"DNSUPDATE_TSIG_KEY", "DNSUPDATE_TSIG_SECRET", "RFC2136_NAMESERVER", "DNSUPDATE_NAMESERVER", "AWS_REGION", "AWS_ACCESS_KEY_ID", "CERTDOCK_PROFILE_A_PROVIDER"} {
			if v, ok := os.LookupEnv(k); ok {
				seen[k] = v
			}
		}
		return nopProvider{}, nil
	}
	p, err := BuildProvider("rfc2136", map[string]string{"DNSUPDATE_TSIG_KEY": "a-key.", "DNSUPDATE_NAMESERVER": "127.0.0.1:5353", "AWS_ACCESS_KEY_ID": "x"}, read)
	if err != nil || p == nil {
		t.Fatalf("BuildProvider: %v, %v", p, err)
	}
	want := map[string]string{"DNSUPDATE_TSIG_KEY": "a-key.", "DNSUPDATE_NAMESERVER": "127.0.0.1:5353", "AWS_ACCESS_KEY_ID": "x", "CERTDOCK_PROFILE_A_PROVIDER": "rfc2136"}
	if len(seen) != len(want) {
		t.Errorf("the provider saw %v, want %v", seen, want)
	}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("the provider saw %s=%q, want %q", k, seen[k], v)
		}
	}
	for k, v := range map[string]string{"DNSUPDATE_TSIG_KEY": "default-key.", "DNSUPDATE_TSIG_SECRET": "default-secret", "RFC2136_NAMESERVER": "192.0.2.1:53", "AWS_REGION": "eu-west-1"} {
		if got := os.Getenv(k); got != v {
			t.Errorf("after the build %s=%q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"DNSUPDATE_NAMESERVER", "AWS_ACCESS_KEY_ID"} {
		if _, ok := os.LookupEnv(k); ok {
			t.Errorf("after the build %s is still set", k)
		}
	}
	// An error comes back without a provider (lego returns typed nils).
	var typedNil *struct{ nopProvider }
	p, err = BuildProvider("rfc2136", nil, func() (challenge.Provider, error) { return typedNil, errors.New("missing") })
	if p != nil || err == nil {
		t.Errorf("failed build returned %v, %v", p, err)
	}
}
