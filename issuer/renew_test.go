package issuer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certcrypto"
)

// selfSigned returns a certificate for key's public half.
func selfSigned(t *testing.T, key crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"a.example.com"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKeyForReuse(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ec)
	sec1PEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})
	pkcs8PEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
	ecCert, rsaCert := selfSigned(t, ec), selfSigned(t, rk)

	tests := []struct {
		name   string
		pem    []byte
		old    *x509.Certificate
		want   certcrypto.KeyType
		reused bool
		why    string
	}{
		{name: "sec1", pem: sec1PEM, old: ecCert, want: certcrypto.EC256, reused: true},
		{name: "pkcs8 (certbot, lego)", pem: pkcs8PEM, old: ecCert, want: certcrypto.EC256, reused: true},
		{name: "no old certificate", pem: pkcs8PEM, want: certcrypto.EC256, reused: true},
		{name: "rsa pkcs1", pem: rsaPEM, old: rsaCert, want: certcrypto.RSA2048, reused: true},
		{name: "type changed", pem: sec1PEM, old: ecCert, want: certcrypto.EC384, why: "key type changed from EC256 to EC384"},
		{name: "ec to rsa", pem: sec1PEM, old: ecCert, want: certcrypto.RSA2048, why: "key type changed"},
		{name: "foreign key", pem: sec1PEM, old: selfSigned(t, other), want: certcrypto.EC256, why: "does not belong"},
		{name: "empty", pem: nil, want: certcrypto.EC256, why: "no previous private key"},
		{name: "junk", pem: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), want: certcrypto.EC256, why: "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, why := keyForReuse(tt.pem, tt.old, tt.want)
			if (key != nil) != tt.reused || !strings.Contains(why, tt.why) {
				t.Errorf("key %v, why %q; want reused %v, why containing %q", key != nil, why, tt.reused, tt.why)
			}
		})
	}
}

func TestReusableKeyOnlyWhenAsked(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	var logs strings.Builder
	i := &Issuer{log: newTextLogger(&logs)}
	if k := i.reusableKey("a", &replacement{keyPEM: keyPEM}, certcrypto.EC256); k != nil {
		t.Error("key reused without reuseKey")
	}
	if k := i.reusableKey("a", &replacement{keyPEM: keyPEM, reuseKey: true}, certcrypto.EC256); k == nil {
		t.Error("key not reused")
	}
	if k := i.reusableKey("a", &replacement{keyPEM: keyPEM, reuseKey: true}, certcrypto.RSA4096); k != nil || !strings.Contains(logs.String(), "key type changed") {
		t.Errorf("type change: key %v, logs %q", k != nil, logs.String())
	}
}

func TestReplacesRefused(t *testing.T) {
	srv, i := fakeCA(t, func(http.ResponseWriter, *http.Request) {})
	newOrder := srv.URL + "/new-order"
	pd := func(status int, typ, url string) *acme.ProblemDetails {
		return &acme.ProblemDetails{HTTPStatus: status, Type: typ, Method: http.MethodPost, URL: url}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "already replaced", err: &acme.AlreadyReplacedError{ProblemDetails: pd(409, acme.AlreadyReplacedErrorType, newOrder)}, want: true},
		{name: "unknown certificate (Pebble)", err: pd(500, acme.ServerInternalErrorType, newOrder), want: true},
		{name: "another account's", err: fmt.Errorf("x: %w", pd(403, acme.UnauthorizedErrorType, newOrder)), want: true},
		{name: "rate limited", err: &acme.RateLimitedError{ProblemDetails: pd(429, acme.RateLimitedErrorType, newOrder)}},
		{name: "rejected identifier", err: pd(400, acme.RejectedIdentifierErrorType, newOrder)},
		{name: "other URL", err: pd(403, acme.UnauthorizedErrorType, srv.URL+"/finalize/1")},
		{name: "not a problem", err: errors.New("boom")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := i.replacesRefused(tt.err); got != tt.want {
				t.Errorf("replacesRefused = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWatchTransportSeesAlreadyReplaced(t *testing.T) {
	long := strings.Repeat("x", maxPeek+100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusConflict)
		if r.URL.Path == "/replaced" {
			fmt.Fprintf(w, `{"type":%q,"detail":"already replaced","status":409}`, acme.AlreadyReplacedErrorType)
			return
		}
		fmt.Fprintf(w, `{"type":"urn:ietf:params:acme:error:malformed","detail":%q}`, long)
	}))
	defer srv.Close()
	client := &http.Client{Transport: watchTransport{base: http.DefaultTransport}}

	post := func(ctx context.Context, path string) string {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(body)
	}
	w := &replaceWatch{}
	ctx := context.WithValue(context.Background(), replaceWatchKey{}, w)
	if body := post(ctx, "/other"); !strings.Contains(body, long) || w.alreadyReplaced.Load() {
		t.Errorf("long body altered (%d bytes) or misread", len(body))
	}
	if body := post(context.Background(), "/replaced"); !strings.Contains(body, "alreadyReplaced") || w.alreadyReplaced.Load() {
		t.Error("a request without the watch was watched")
	}
	if body := post(ctx, "/replaced"); !strings.Contains(body, "alreadyReplaced") || !w.alreadyReplaced.Load() {
		t.Error("alreadyReplaced not seen, or the body was consumed")
	}
	client.CloseIdleConnections()
}

func TestRenewWithProviderErrorIsConfigError(t *testing.T) {
	i, err := New(Config{DirectoryURL: "https://127.0.0.1:1/dir", AccountsDir: t.TempDir(), ProviderName: "cloudflare", ProviderErr: errors.New("missing CLOUDFLARE_DNS_API_TOKEN")})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = i.Renew(context.Background(), specFor("a.example.com"), nil, nil, true)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindConfig || !strings.Contains(err.Error(), "CLOUDFLARE_DNS_API_TOKEN") {
		t.Fatalf("got %v", err)
	}
}
