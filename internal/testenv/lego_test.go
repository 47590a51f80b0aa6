package testenv_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/challenge/dns01"
	"github.com/go-acme/lego/v5/lego"
	"github.com/go-acme/lego/v5/providers/dns/dnsupdate"
	"github.com/go-acme/lego/v5/registration"

	"github.com/certdock/certdock/internal/testenv"
)

type acmeUser struct {
	key crypto.Signer
	reg *acme.ExtendedAccount
}

func (u *acmeUser) GetEmail() string                       { return "" }
func (u *acmeUser) GetRegistration() *acme.ExtendedAccount { return u.reg }
func (u *acmeUser) GetPrivateKey() crypto.Signer           { return u.key }

// TestLegoIssuesThroughHarness proves the harness is fit for its purpose:
// lego's dnsupdate provider, configured only from Bind.Env, gets
// certificates from Pebble, which validates DNS-01 against the same bind,
// including through a CNAME into another zone, and the profiles behave.
// It sets environment variables and lego's default DNS client, so it does
// not run in parallel.
func TestLegoIssuesThroughHarness(t *testing.T) {
	b := testenv.StartBind(t, "example.com", "example.net")
	p := testenv.StartPebble(t, b.Addr, &testenv.PebbleOptions{ShortLived: true})

	for k, v := range b.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("DNSUPDATE_POLLING_INTERVAL", "1")
	t.Setenv("DNSUPDATE_SEQUENCE_INTERVAL", "0")
	t.Setenv("LEGO_DISABLE_CNAME_SUPPORT", "")
	saved := dns01.DefaultClient()
	dns01.SetDefaultClient(dns01.NewClient(&dns01.Options{RecursiveNameservers: []string{b.Addr}, Timeout: 5 * time.Second}))
	t.Cleanup(func() { dns01.SetDefaultClient(saved) })

	// Delegate shop.example.com's challenge into example.net.
	b.AddCNAME(t, "_acme-challenge.shop.example.com", "shop.acme.example.net")

	provider, err := dnsupdate.NewDNSProvider()
	if err != nil {
		t.Fatalf("dnsupdate from Bind.Env: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	user := &acmeUser{key: key}
	cfg := lego.NewConfig(user)
	cfg.CADirURL = p.DirectoryURL
	cfg.HTTPClient = p.HTTPClient()
	client, err := lego.NewClient(cfg)
	if err != nil {
		t.Fatalf("lego client: %v", err)
	}
	err = client.Challenge.SetDNS01Provider(provider, dns01.DisableAuthoritativeNssPropagationRequirement())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	user.reg, err = client.Registration.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true})
	if err != nil {
		t.Fatalf("register: %v", err)
	}

	roots := p.Roots(t)
	for _, tc := range []struct {
		profile string
		domains []string
		want    time.Duration
	}{
		{testenv.DefaultProfile, []string{"www.example.com", "shop.example.com"}, 90 * 24 * time.Hour},
		{testenv.ShortLivedProfile, []string{"www.example.com"}, testenv.ShortLivedValidity},
	} {
		start := time.Now()
		res, err := client.Certificate.Obtain(ctx, certificate.ObtainRequest{
			Domains: tc.domains, KeyType: certcrypto.EC256, Bundle: true, Profile: tc.profile,
		})
		if err != nil {
			t.Fatalf("obtain %v (%s): %v", tc.domains, tc.profile, err)
		}
		t.Logf("obtained %v with profile %s in %v", tc.domains, tc.profile, time.Since(start))

		var chain []*x509.Certificate
		for rest := res.Certificate; ; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			chain = append(chain, c)
		}
		if len(chain) < 2 {
			t.Fatalf("bundle has %d certificates, want leaf + intermediate", len(chain))
		}
		inter := x509.NewCertPool()
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
		for _, d := range tc.domains {
			if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: d, Roots: roots, Intermediates: inter}); err != nil {
				t.Errorf("certificate for %s does not verify against Pebble's root: %v", d, err)
			}
		}
		if got := chain[0].NotAfter.Sub(chain[0].NotBefore); got < tc.want-time.Minute || got > tc.want+time.Minute {
			t.Errorf("profile %s: validity %v, want about %v", tc.profile, got, tc.want)
		}
	}
	// lego cleaned up its challenge records.
	if got := b.TXT(t, "_acme-challenge.www.example.com"); got != nil {
		t.Errorf("challenge TXT left behind: %q", got)
	}
}
