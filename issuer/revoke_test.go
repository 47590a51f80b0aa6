package issuer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/acme"

	"github.com/certdock/certdock/cert"
)

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func specFor(domains ...string) cert.Spec {
	return cert.Spec{Name: domains[0], Domains: domains}
}

// fakeRevoker answers RevokeWithReason with errs in turn and records the
// reasons asked.
type fakeRevoker struct {
	errs    []error
	reasons []*uint
}

func (f *fakeRevoker) RevokeWithReason(_ context.Context, _ []byte, reason *uint) error {
	f.reasons = append(f.reasons, reason)
	if len(f.errs) == 0 {
		return nil
	}
	err := f.errs[0]
	f.errs = f.errs[1:]
	return err
}

func TestRevokeWithSendsCessationOfOperation(t *testing.T) {
	f := &fakeRevoker{}
	if err := revokeWith(context.Background(), f, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.reasons) != 1 || f.reasons[0] == nil || *f.reasons[0] != 5 {
		t.Fatalf("reasons %v, want one request with cessationOfOperation (5)", f.reasons)
	}
}

func TestRevokeWithFallsBackToUnspecified(t *testing.T) {
	bad := &acme.ProblemDetails{HTTPStatus: 400, Type: acme.BadRevocationReasonErrorType}
	f := &fakeRevoker{errs: []error{bad}}
	if err := revokeWith(context.Background(), f, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.reasons) != 2 || f.reasons[1] != nil {
		t.Fatalf("reasons %v, want a second request without a reason", f.reasons)
	}
	other := &acme.ProblemDetails{HTTPStatus: 403, Type: acme.UnauthorizedErrorType}
	f = &fakeRevoker{errs: []error{other}}
	if err := revokeWith(context.Background(), f, nil); !errors.Is(err, other) || len(f.reasons) != 1 {
		t.Fatalf("err %v after %d requests", err, len(f.reasons))
	}
}

func TestClassifyRevoke(t *testing.T) {
	tests := []struct {
		name string
		err  error
		kind Kind
	}{
		{name: "unauthorized", err: &acme.ProblemDetails{HTTPStatus: 403, Type: acme.UnauthorizedErrorType}, kind: KindRejected},
		{name: "unknown certificate", err: &acme.ProblemDetails{HTTPStatus: 400, Type: acme.MalformedErrorType}, kind: KindRejected},
		{name: "rate limited", err: &acme.RateLimitedError{ProblemDetails: &acme.ProblemDetails{HTTPStatus: 429, Type: acme.RateLimitedErrorType}, RetryAfter: time.Minute}, kind: KindRateLimited},
		{name: "server error", err: &acme.ProblemDetails{HTTPStatus: 500, Type: acme.ServerInternalErrorType}, kind: KindRetry},
		{name: "network", err: &url.Error{Op: "Post", URL: "https://ca", Err: errors.New("refused")}, kind: KindRetry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *Error
			if !errors.As(classifyRevoke(tt.err), &e) || e.Kind != tt.kind {
				t.Errorf("got %v, want kind %v", e, tt.kind)
			}
		})
	}
}

func TestRevokeRefusesWhatIsNoLeaf(t *testing.T) {
	i, err := New(Config{DirectoryURL: "https://127.0.0.1:1/dir", AccountsDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), IsCA: true, BasicConstraintsValid: true, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for name, in := range map[string][]byte{"empty": nil, "junk": []byte("junk"), "CA": caPEM} {
		var e *Error
		if err := i.Revoke(context.Background(), in); !errors.As(err, &e) || e.Kind != KindConfig {
			t.Errorf("%s: %v, want KindConfig", name, err)
		}
	}
	// A leaf gets as far as the (unreachable) CA: a retryable error.
	leaf := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: selfSigned(t, key).Raw})
	var e *Error
	if err := i.Revoke(context.Background(), leaf); !errors.As(err, &e) || e.Kind != KindRetry || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("unreachable CA: %v", err)
	}
}

func TestEABErrorKinds(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		config bool
	}{
		{name: "bad HMAC", err: &acme.ProblemDetails{HTTPStatus: 403, Type: acme.UnauthorizedErrorType}, config: true},
		{name: "unknown kid", err: &acme.ProblemDetails{HTTPStatus: 400, Type: acme.MalformedErrorType}, config: true},
		{name: "undecodable HMAC", err: errors.New("acme: could not decode hmac key"), config: true},
		{name: "CA down", err: &acme.ProblemDetails{HTTPStatus: 503, Type: acme.ServerInternalErrorType}},
		{name: "rate limited", err: &acme.RateLimitedError{ProblemDetails: &acme.ProblemDetails{HTTPStatus: 429, Type: acme.RateLimitedErrorType}}},
		{name: "network", err: &url.Error{Op: "Post", URL: "https://ca", Err: errors.New("refused")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *Error
			got := errors.As(eabError(tt.err), &e) && e.Kind == KindConfig
			if got != tt.config {
				t.Errorf("KindConfig = %v, want %v", got, tt.config)
			}
		})
	}
	var e *Error
	eabRequired := &acme.ProblemDetails{HTTPStatus: 403, Type: acme.ExternalAccountRequiredErrorType}
	if !errors.As(classify(eabRequired), &e) || e.Kind != KindRejected {
		t.Errorf("externalAccountRequired: %v", e)
	}
}
