package sandbox

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/crypto/acme"
)

// Provider has the method set of lego v5's challenge.ProviderTimeout
// (checked structurally; this package must not import lego).
var _ interface {
	Present(ctx context.Context, domain, token, keyAuth string) error
	CleanUp(ctx context.Context, domain, token, keyAuth string) error
	Timeout() (timeout, interval time.Duration)
} = (*Provider)(nil)

func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	if os.Getenv("SANDBOX_TEST_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func startEnv(t *testing.T) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	begin := time.Now()
	env, err := Start(ctx, testLogger(t))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %v", time.Since(begin))
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return env
}

func trustingClient(t *testing.T, rootPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(rootPEM) {
		t.Fatal("TLSRootPEM holds no certificate")
	}
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
}

func query(t *testing.T, network, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s query %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	if !r.Authoritative {
		t.Errorf("%s %s: AA bit not set", name, dns.TypeToString[qtype])
	}
	return r
}

func txtValues(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			joined := ""
			for _, s := range txt.Txt {
				joined += s
			}
			out = append(out, joined)
		}
	}
	return out
}

func digest(keyAuth string) string {
	sum := sha256.Sum256([]byte(keyAuth))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestDirectory(t *testing.T) {
	env := startEnv(t)

	u, err := url.Parse(env.DirectoryURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "https" || u.Hostname() != "127.0.0.1" || u.Path != "/dir" {
		t.Errorf("DirectoryURL = %q, want https://127.0.0.1:PORT/dir", env.DirectoryURL)
	}

	resp, err := trustingClient(t, env.TLSRootPEM).Get(env.DirectoryURL)
	if err != nil {
		t.Fatalf("GET directory: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET directory: status %s", resp.Status)
	}
	var dir map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&dir); err != nil {
		t.Fatalf("decoding directory: %v", err)
	}
	for _, key := range []string{"newNonce", "newAccount", "newOrder"} {
		s, _ := dir[key].(string)
		if s == "" {
			t.Errorf("directory has no %q: %v", key, dir)
		}
	}

	// Without TLSRootPEM the server is not trusted.
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get(env.DirectoryURL); err == nil {
		resp.Body.Close()
		t.Error("GET directory with system roots succeeded; want a certificate error")
	}
}

func TestProviderAndDNS(t *testing.T) {
	env := startEnv(t)
	ctx := t.Context()
	const name = "_acme-challenge.www.example.com."

	keyAuth1, keyAuth2 := "token1.thumbprint", "token2.thumbprint"
	if err := env.Provider.Present(ctx, "www.example.com", "token1", keyAuth1); err != nil {
		t.Fatalf("Present: %v", err)
	}
	for _, network := range []string{"udp", "tcp"} {
		r := query(t, network, env.DNSAddr, name, dns.TypeTXT)
		if r.Rcode != dns.RcodeSuccess {
			t.Fatalf("%s TXT: rcode %s", network, dns.RcodeToString[r.Rcode])
		}
		if got, want := txtValues(r), []string{digest(keyAuth1)}; !slices.Equal(got, want) {
			t.Errorf("%s TXT = %q, want %q", network, got, want)
		}
	}

	// A wildcard is validated at its base name; both values are served.
	// Lookups are case-insensitive.
	if err := env.Provider.Present(ctx, "*.WWW.example.com", "token2", keyAuth2); err != nil {
		t.Fatalf("Present wildcard: %v", err)
	}
	r := query(t, "udp", env.DNSAddr, "_ACME-challenge.www.Example.com.", dns.TypeTXT)
	got := txtValues(r)
	slices.Sort(got)
	want := []string{digest(keyAuth1), digest(keyAuth2)}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("TXT after two Presents = %q, want %q", got, want)
	}

	if err := env.Provider.CleanUp(ctx, "www.example.com", "token1", keyAuth1); err != nil {
		t.Fatalf("CleanUp: %v", err)
	}
	if got, want := txtValues(query(t, "udp", env.DNSAddr, name, dns.TypeTXT)), []string{digest(keyAuth2)}; !slices.Equal(got, want) {
		t.Errorf("TXT after one CleanUp = %q, want %q", got, want)
	}
	if err := env.Provider.CleanUp(ctx, "*.www.example.com", "token2", keyAuth2); err != nil {
		t.Fatalf("CleanUp wildcard: %v", err)
	}
	r = query(t, "tcp", env.DNSAddr, name, dns.TypeTXT)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("TXT after CleanUp: rcode %s, %d answers; want NOERROR, none", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
	if len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
		t.Errorf("empty TXT answer: authority %v, want the zone's SOA", r.Ns)
	}
	// A second CleanUp of the same record is harmless.
	if err := env.Provider.CleanUp(ctx, "www.example.com", "token1", keyAuth1); err != nil {
		t.Errorf("repeated CleanUp: %v", err)
	}

	// SOA: owned by the last two labels of the name asked about.
	for _, tc := range []struct{ qname, zone string }{
		{"www.example.com.", "example.com."},
		{name, "example.com."},
		{"example.com.", "example.com."},
		{"com.", "com."},
	} {
		r := query(t, "udp", env.DNSAddr, tc.qname, dns.TypeSOA)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("SOA %s: rcode %s, answer %v", tc.qname, dns.RcodeToString[r.Rcode], r.Answer)
			continue
		}
		soa, ok := r.Answer[0].(*dns.SOA)
		if !ok || soa.Hdr.Name != tc.zone {
			t.Errorf("SOA %s: answer %v, want a SOA owned by %s", tc.qname, r.Answer[0], tc.zone)
		}
	}

	// A for any name.
	r = query(t, "udp", env.DNSAddr, "anything.example.org.", dns.TypeA)
	if len(r.Answer) != 1 {
		t.Fatalf("A: answer %v", r.Answer)
	}
	if a, ok := r.Answer[0].(*dns.A); !ok || !a.A.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("A: answer %v, want 127.0.0.1", r.Answer[0])
	}
	// NODATA for a type the name has none of; NXDOMAIN under .invalid.
	r = query(t, "udp", env.DNSAddr, "anything.example.org.", dns.TypeAAAA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("AAAA: rcode %s, answer %v; want NOERROR, none", dns.RcodeToString[r.Rcode], r.Answer)
	}
	r = query(t, "udp", env.DNSAddr, "host.invalid.", dns.TypeA)
	if r.Rcode != dns.RcodeNameError {
		t.Errorf("A host.invalid.: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}

	if timeout, interval := env.Provider.Timeout(); timeout <= 0 || interval <= 0 || interval >= timeout {
		t.Errorf("Timeout() = %v, %v", timeout, interval)
	}
	if err := env.Provider.Present(ctx, "", "t", "k"); err == nil {
		t.Error("Present with an empty domain succeeded")
	}
}

func TestIssuerRootsPEM(t *testing.T) {
	env := startEnv(t)
	rootsPEM, err := env.IssuerRootsPEM()
	if err != nil {
		t.Fatalf("IssuerRootsPEM: %v", err)
	}
	block, rest := pem.Decode(rootsPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("IssuerRootsPEM is not a PEM certificate: %q", rootsPEM)
	}
	if len(rest) != 0 {
		t.Errorf("IssuerRootsPEM holds more than one root (%d trailing bytes)", len(rest))
	}
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parsing root: %v", err)
	}
	if !root.IsCA || !root.BasicConstraintsValid {
		t.Errorf("root %q is not a CA certificate", root.Subject)
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		t.Errorf("root is not self-signed: %v", err)
	}
	// Not the TLS root.
	if string(rootsPEM) == string(env.TLSRootPEM) {
		t.Error("IssuerRootsPEM equals TLSRootPEM")
	}
}

func TestCloseStopsListeners(t *testing.T) {
	env, err := Start(t.Context(), testLogger(t))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	u, err := url.Parse(env.DirectoryURL)
	if err != nil {
		t.Fatal(err)
	}
	// Leave a keep-alive connection open; Close must not hang on it.
	client := trustingClient(t, env.TLSRootPEM)
	resp, err := client.Get(env.DirectoryURL)
	if err != nil {
		t.Fatalf("GET directory: %v", err)
	}
	resp.Body.Close()
	query(t, "udp", env.DNSAddr, "example.com.", dns.TypeSOA)
	query(t, "tcp", env.DNSAddr, "example.com.", dns.TypeSOA)

	if err := env.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := env.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	for _, addr := range []string{u.Host, env.DNSAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("tcp %s still accepting after Close", addr)
		}
	}
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeSOA)
	c := &dns.Client{Net: "udp", Timeout: 500 * time.Millisecond}
	if _, _, err := c.Exchange(m, env.DNSAddr); err == nil {
		t.Errorf("udp %s still answering after Close", env.DNSAddr)
	}
	// The ports are free again.
	for _, network := range []string{"tcp", "udp"} {
		var err error
		switch network {
		case "tcp":
			var ln net.Listener
			if ln, err = net.Listen("tcp", env.DNSAddr); err == nil {
				ln.Close()
			}
		case "udp":
			var pc net.PacketConn
			if pc, err = net.ListenPacket("udp", env.DNSAddr); err == nil {
				pc.Close()
			}
		}
		if err != nil {
			t.Errorf("%s %s not free after Close: %v", network, env.DNSAddr, err)
		}
	}
	if _, err := env.IssuerRootsPEM(); err != nil {
		t.Errorf("IssuerRootsPEM after Close: %v", err)
	}
}

func TestStartCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if env, err := Start(ctx, nil); err == nil {
		env.Close()
		t.Fatal("Start with a cancelled context succeeded")
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("Start: %v, want context.Canceled", err)
	}
}

// TestIssuance runs whole ACME DNS-01 issuances against the sandbox with
// golang.org/x/crypto/acme as the client and Provider publishing the
// challenge records, then verifies the chains against IssuerRootsPEM.
func TestIssuance(t *testing.T) {
	env := startEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	accountKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	client := &acme.Client{
		Key:          accountKey,
		DirectoryURL: env.DirectoryURL,
		HTTPClient:   trustingClient(t, env.TLSRootPEM),
		UserAgent:    "certdock-sandbox-test",
	}
	if _, err := client.Register(ctx, &acme.Account{}, acme.AcceptTOS); err != nil {
		t.Fatalf("Register: %v", err)
	}
	thumbprint, err := acme.JWKThumbprint(accountKey.Public())
	if err != nil {
		t.Fatal(err)
	}

	rootsPEM, err := env.IssuerRootsPEM()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootsPEM) {
		t.Fatal("IssuerRootsPEM holds no certificate")
	}

	for _, names := range [][]string{
		{"www.example.com"},
		// Two challenges on one TXT name at the same time.
		{"example.com", "*.example.com"},
	} {
		t.Run(names[0], func(t *testing.T) {
			begin := time.Now()
			order, err := client.AuthorizeOrder(ctx, acme.DomainIDs(names...))
			if err != nil {
				t.Fatalf("AuthorizeOrder: %v", err)
			}
			type presented struct{ domain, token, keyAuth string }
			var cleanups []presented
			defer func() {
				for _, p := range cleanups {
					if err := env.Provider.CleanUp(ctx, p.domain, p.token, p.keyAuth); err != nil {
						t.Errorf("CleanUp %s: %v", p.domain, err)
					}
				}
			}()

			var pending []*acme.Authorization
			for _, authzURL := range order.AuthzURLs {
				authz, err := client.GetAuthorization(ctx, authzURL)
				if err != nil {
					t.Fatalf("GetAuthorization: %v", err)
				}
				if authz.Status != acme.StatusPending {
					t.Fatalf("authorization for %s is %s; the sandbox must not reuse authorizations", authz.Identifier.Value, authz.Status)
				}
				var chal *acme.Challenge
				for _, c := range authz.Challenges {
					if c.Type == "dns-01" {
						chal = c
					}
				}
				if chal == nil {
					t.Fatalf("no dns-01 challenge for %s", authz.Identifier.Value)
				}
				domain := authz.Identifier.Value
				if authz.Wildcard {
					domain = "*." + domain
				}
				keyAuth := chal.Token + "." + thumbprint
				if err := env.Provider.Present(ctx, domain, chal.Token, keyAuth); err != nil {
					t.Fatalf("Present: %v", err)
				}
				cleanups = append(cleanups, presented{domain, chal.Token, keyAuth})

				// Provider's value is the one the ACME library expects.
				want, err := client.DNS01ChallengeRecord(chal.Token)
				if err != nil {
					t.Fatal(err)
				}
				r := query(t, "tcp", env.DNSAddr, "_acme-challenge."+authz.Identifier.Value+".", dns.TypeTXT)
				if !slices.Contains(txtValues(r), want) {
					t.Fatalf("TXT for %s = %q, want it to contain %q", domain, txtValues(r), want)
				}
				if _, err := client.Accept(ctx, chal); err != nil {
					t.Fatalf("Accept: %v", err)
				}
				pending = append(pending, authz)
			}
			for _, authz := range pending {
				if _, err := client.WaitAuthorization(ctx, authz.URI); err != nil {
					t.Fatalf("WaitAuthorization %s: %v", authz.Identifier.Value, err)
				}
			}
			order, err = client.WaitOrder(ctx, order.URI)
			if err != nil {
				t.Fatalf("WaitOrder: %v", err)
			}

			certKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: names}, certKey)
			if err != nil {
				t.Fatal(err)
			}
			ders, certURL, err := client.CreateOrderCert(ctx, order.FinalizeURL, csr, true)
			if err != nil {
				t.Fatalf("CreateOrderCert: %v", err)
			}
			t.Logf("issued %s (%d certificates in chain) in %v", certURL, len(ders), time.Since(begin))

			chain := make([]*x509.Certificate, 0, len(ders))
			for _, der := range ders {
				c, err := x509.ParseCertificate(der)
				if err != nil {
					t.Fatalf("parsing issued chain: %v", err)
				}
				chain = append(chain, c)
			}
			leaf := chain[0]
			intermediates := x509.NewCertPool()
			for _, c := range chain[1:] {
				intermediates.AddCert(c)
			}
			for _, name := range []string{names[0], "www.example.com"} {
				if _, err := leaf.Verify(x509.VerifyOptions{
					DNSName:       name,
					Roots:         roots,
					Intermediates: intermediates,
					KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				}); err != nil {
					t.Errorf("verifying leaf for %s against IssuerRootsPEM: %v", name, err)
				}
			}
			if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(certKey.Public()) {
				t.Error("leaf does not carry the CSR's key")
			}
			if got := leaf.NotAfter.Sub(leaf.NotBefore); got < 89*24*time.Hour || got > 91*24*time.Hour {
				t.Errorf("leaf validity %v, want 90 days", got)
			}
			// Not trusted by the system.
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: names[0], Intermediates: intermediates}); err == nil {
				t.Error("sandbox certificate verifies against the system roots")
			}
		})
	}
}

// TestConcurrentStarts starts several sandboxes at once and checks that the
// Pebble variables Start sets are put back afterwards.
func TestConcurrentStarts(t *testing.T) {
	type state struct {
		value   string
		present bool
	}
	before := make(map[string]state)
	for _, kv := range pebbleEnv {
		v, ok := os.LookupEnv(kv.name)
		before[kv.name] = state{v, ok}
	}

	const n = 3
	envs := make(chan *Env, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			env, err := Start(t.Context(), nil)
			if err != nil {
				errs <- err
				return
			}
			envs <- env
		}()
	}
	addrs := make(map[string]bool)
	for range n {
		select {
		case err := <-errs:
			t.Errorf("Start: %v", err)
		case env := <-envs:
			if addrs[env.DNSAddr] || addrs[env.DirectoryURL] {
				t.Errorf("two sandboxes share an address: %s %s", env.DNSAddr, env.DirectoryURL)
			}
			addrs[env.DNSAddr], addrs[env.DirectoryURL] = true, true
			if err := env.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	}

	for _, kv := range pebbleEnv {
		v, ok := os.LookupEnv(kv.name)
		if got := (state{v, ok}); got != before[kv.name] {
			t.Errorf("%s after Start = %+v, want %+v as before", kv.name, got, before[kv.name])
		}
	}
}
