package testenv_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/acme/api"

	"github.com/certdock/certdock/internal/testenv"
)

// proxyClient returns an HTTP client that trusts only the proxy's CA.
func proxyClient(t *testing.T, ap *testenv.ACMEProxy) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(ap.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", ap.CAFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// acmeCore registers a new account through the proxy and returns lego's
// ACME core, ready to place orders.
func acmeCore(t *testing.T, ap *testenv.ACMEProxy) *api.Core {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	core, err := api.New(proxyClient(t, ap), "certdock-testenv", ap.DirectoryURL, "", key)
	if err != nil {
		t.Fatalf("directory through the proxy: %v", err)
	}
	if _, err := core.Accounts.New(context.Background(), acme.Account{TermsOfServiceAgreed: true}); err != nil {
		t.Fatalf("new account through the proxy: %v", err)
	}
	return core
}

func TestACMEProxyForwardsAndCounts(t *testing.T) {
	p := testenv.StartPebble(t, "", nil)
	ap := testenv.StartACMEProxy(t, p)
	if !strings.HasPrefix(ap.DirectoryURL, "https://"+ap.Addr+"/") {
		t.Fatalf("DirectoryURL %s is not on the proxy's address %s", ap.DirectoryURL, ap.Addr)
	}

	// The directory's URLs point at the proxy, not at Pebble.
	resp, err := proxyClient(t, ap).Get(ap.DirectoryURL)
	if err != nil {
		t.Fatalf("GET directory through the proxy with its CA: %v", err)
	}
	var dir acme.Directory
	err = json.NewDecoder(resp.Body).Decode(&dir)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{dir.NewNonceURL, dir.NewAccountURL, dir.NewOrderURL, dir.RenewalInfo} {
		if !strings.HasPrefix(u, "https://"+ap.Addr+"/") {
			t.Errorf("directory URL %q does not point at the proxy %s", u, ap.Addr)
		}
	}

	// Signed requests pass Pebble's JWS url check through the proxy, and
	// the links in its answers (order, authorization) lead back to it.
	core := acmeCore(t, ap)
	order, err := core.Orders.New(context.Background(), []string{"count.example.com"}, nil)
	if err != nil {
		t.Fatalf("new order through the proxy: %v", err)
	}
	if !strings.HasPrefix(order.Location, "https://"+ap.Addr+"/") || len(order.Authorizations) != 1 ||
		!strings.HasPrefix(order.Authorizations[0], "https://"+ap.Addr+"/") {
		t.Errorf("order links do not point at the proxy: %+v", order)
	}
	authz, err := core.Authorizations.Get(context.Background(), order.Authorizations[0])
	if err != nil {
		t.Fatalf("authorization through the proxy: %v", err)
	}
	if authz.Identifier.Value != "count.example.com" {
		t.Errorf("authorization for %q", authz.Identifier.Value)
	}

	if n := ap.Count(testenv.EndpointNewOrder); n != 1 {
		t.Errorf("new-order count %d, want 1", n)
	}
	if n := ap.Count(testenv.EndpointNewAccount); n != 1 {
		t.Errorf("new-account count %d, want 1", n)
	}
	if n := ap.Count(testenv.EndpointAuthorization); n != 1 {
		t.Errorf("authorization count %d, want 1", n)
	}
	if ap.Count(testenv.EndpointDirectory) != 2 || ap.Count(testenv.EndpointNonce) < 1 {
		t.Errorf("requests: %s; want 2 directory reads and at least one nonce", ap.Summary(time.Time{}))
	}
	if ap.Count() != len(ap.Requests()) {
		t.Errorf("Count() %d != len(Requests()) %d", ap.Count(), len(ap.Requests()))
	}
	for _, r := range ap.Requests() {
		if r.Fault != "" || r.Status == 0 || r.Status >= 400 || r.Time.IsZero() {
			t.Errorf("unexpected log entry for a healthy exchange: %+v", r)
		}
	}
}

func TestACMEProxyFaults(t *testing.T) {
	p := testenv.StartPebble(t, "", nil)
	ap := testenv.StartACMEProxy(t, p)
	core := acmeCore(t, ap)
	ctx := context.Background()

	t.Run("status on a path prefix", func(t *testing.T) {
		ap.Status(http.StatusInternalServerError, "/order-plz")
		defer ap.Heal()
		start := time.Now()
		_, err := core.Orders.New(ctx, []string{"five.example.com"}, nil)
		var pd *acme.ProblemDetails
		if !errors.As(err, &pd) || pd.HTTPStatus != 500 || pd.Type != "urn:ietf:params:acme:error:serverInternal" {
			t.Fatalf("new order under Status(500): %v, want a 500 serverInternal problem", err)
		}
		// Other paths are still forwarded.
		resp, err := proxyClient(t, ap).Get(ap.DirectoryURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("directory while only new orders fail: %s", resp.Status)
		}
		var faulted, other int
		for _, r := range ap.Requests() {
			if r.Time.Before(start) {
				continue
			}
			if r.Endpoint == testenv.EndpointNewOrder {
				faulted++
				if r.Fault != testenv.FaultStatus || r.Status != 500 {
					t.Errorf("new-order entry %+v, want fault status and 500", r)
				}
			} else if r.Fault != "" {
				other++
			}
		}
		if faulted != 1 || other != 0 {
			t.Errorf("%d faulted new orders (want 1), %d other faulted requests (want 0)", faulted, other)
		}
	})

	t.Run("status for every path", func(t *testing.T) {
		ap.Status(http.StatusServiceUnavailable)
		resp, err := proxyClient(t, ap).Get(ap.DirectoryURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("directory under Status(503): %s %s", resp.Status, resp.Header.Get("Content-Type"))
		}
		ap.Heal()
		if _, err := core.Orders.New(ctx, []string{"healed.example.com"}, nil); err != nil {
			t.Errorf("new order after Heal: %v", err)
		}
	})

	t.Run("rate limit with Retry-After", func(t *testing.T) {
		ap.RateLimit(90*time.Second, "/order-plz")
		defer ap.Heal()
		_, err := core.Orders.New(ctx, []string{"limited.example.com"}, nil)
		var rl *acme.RateLimitedError
		if !errors.As(err, &rl) {
			t.Fatalf("new order under RateLimit: %v, want lego's RateLimitedError", err)
		}
		if rl.RetryAfter != 90*time.Second || rl.HTTPStatus != 429 {
			t.Errorf("Retry-After %v status %d, want 90s and 429", rl.RetryAfter, rl.HTTPStatus)
		}
		reqs := ap.Requests()
		if last := reqs[len(reqs)-1]; last.Endpoint != testenv.EndpointNewOrder || last.Fault != testenv.FaultRateLimit || last.Status != 429 {
			t.Errorf("last entry %+v, want a rate-limited new order", last)
		}
	})

	t.Run("delay", func(t *testing.T) {
		const d = 400 * time.Millisecond
		ap.Delay(d, "/dir")
		defer ap.Heal()
		client := proxyClient(t, ap)
		start := time.Now()
		resp, err := client.Get(ap.DirectoryURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if took := time.Since(start); took < d || resp.StatusCode != 200 {
			t.Errorf("delayed directory: %s after %v, want 200 after at least %v", resp.Status, took, d)
		}
		reqs := ap.Requests()
		if last := reqs[len(reqs)-1]; last.Delay != d || last.Fault != "" {
			t.Errorf("last entry %+v, want a forwarded request delayed %v", last, d)
		}
	})

	t.Run("down resets connections until healed", func(t *testing.T) {
		client := proxyClient(t, ap)
		resp, err := client.Get(ap.DirectoryURL) // leaves an idle keep-alive connection
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ap.Down()
		before := ap.Count(testenv.EndpointConnection)
		for range 3 {
			resp, err := client.Get(ap.DirectoryURL)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET while down answered %s", resp.Status)
			}
		}
		if _, err := core.Orders.New(ctx, []string{"down.example.com"}, nil); err == nil {
			t.Fatal("new order succeeded while down")
		}
		if n := ap.Count(testenv.EndpointConnection) - before; n < 4 {
			t.Errorf("%d reset connections recorded, want at least 4 (one per attempt)", n)
		}
		ap.Heal()
		resp, err = client.Get(ap.DirectoryURL)
		if err != nil {
			t.Fatalf("GET after Heal: %v", err)
		}
		resp.Body.Close()
		if _, err := core.Orders.New(ctx, []string{"up.example.com"}, nil); err != nil {
			t.Errorf("new order after Heal: %v", err)
		}
	})
}

func TestEndpointOf(t *testing.T) {
	tests := []struct {
		path string
		want testenv.Endpoint
	}{
		{"/dir", testenv.EndpointDirectory},
		{"/nonce-plz", testenv.EndpointNonce},
		{"/sign-me-up", testenv.EndpointNewAccount},
		{"/my-account/abc", testenv.EndpointAccount},
		{"/order-plz", testenv.EndpointNewOrder},
		{"/my-order/xyz", testenv.EndpointOrder},
		{"/finalize-order/xyz", testenv.EndpointFinalize},
		{"/authZ/a1", testenv.EndpointAuthorization},
		{"/chalZ/c1", testenv.EndpointChallenge},
		{"/certZ/s1", testenv.EndpointCertificate},
		{"/revoke-cert", testenv.EndpointRevoke},
		{"/rollover-account-key", testenv.EndpointKeyChange},
		{"/draft-ietf-acme-ari-03/renewalInfo/aki.serial", testenv.EndpointRenewalInfo},
		{"/", testenv.EndpointOther},
		{"/roots/0", testenv.EndpointOther},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := testenv.EndpointOf(tt.path); got != tt.want {
				t.Errorf("EndpointOf(%q) = %s, want %s", tt.path, got, tt.want)
			}
		})
	}
}
