package issuer

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeCA serves an ACME directory (with a renewalInfo endpoint answered by
// ari when ari is not nil) over TLS, and returns an issuer trusting it.
func fakeCA(t *testing.T, ari http.HandlerFunc) (*httptest.Server, *Issuer) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/dir", func(w http.ResponseWriter, r *http.Request) {
		dir := map[string]string{
			"newNonce":   srv.URL + "/nonce",
			"newAccount": srv.URL + "/new-account",
			"newOrder":   srv.URL + "/new-order",
			"revokeCert": srv.URL + "/revoke",
		}
		if ari != nil {
			dir["renewalInfo"] = srv.URL + "/ari"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(dir)
	})
	if ari != nil {
		mux.HandleFunc("/ari/", ari)
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	i, err := New(Config{DirectoryURL: srv.URL + "/dir", CAPool: pool, AccountsDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return srv, i
}

// rfcLeaf is the certificate of RFC 9773's example (§4.1).
func rfcLeaf(t *testing.T) *x509.Certificate {
	t.Helper()
	aki, err := hex.DecodeString("69885B6B87464041E1B37B847BA0AE2CDE01C8D4")
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := new(big.Int).SetString("0087654321", 16)
	return &x509.Certificate{AuthorityKeyId: aki, SerialNumber: serial}
}

func TestARICertIDMatchesRFC9773(t *testing.T) {
	i := &Issuer{}
	id, err := i.ARICertID(rfcLeaf(t))
	if err != nil || id != "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" {
		t.Fatalf("ARICertID = %q, %v; want RFC 9773's aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", id, err)
	}
	for name, c := range map[string]*x509.Certificate{
		"nil":       nil,
		"no AKI":    {SerialNumber: big.NewInt(5)},
		"no serial": {AuthorityKeyId: []byte{1}},
	} {
		if _, err := i.ARICertID(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRenewalWindowWithoutARIIsErrNoARI(t *testing.T) {
	_, i := fakeCA(t, nil)
	_, err := i.RenewalWindow(context.Background(), rfcLeaf(t))
	if !errors.Is(err, ErrNoARI) {
		t.Fatalf("got %v, want ErrNoARI", err)
	}
	// Without ARI, Renew sends no "replaces".
	if id := i.replacesID(rfcLeaf(t)); id != "" {
		t.Errorf("replacesID without ARI = %q", id)
	}
}

func TestRenewalWindowReadsTheCAAnswer(t *testing.T) {
	var path string
	_, i := fakeCA(t, func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		w.Header().Set("Retry-After", "3600")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"suggestedWindow":{"start":"2030-01-02T00:00:00Z","end":"2030-01-03T00:00:00Z"},"explanationURL":"https://ca.example/why"}`)
	})
	w, err := i.RenewalWindow(context.Background(), rfcLeaf(t))
	if err != nil {
		t.Fatal(err)
	}
	want := Window{
		Start:          time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC),
		End:            time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC),
		RetryAfter:     time.Hour,
		ExplanationURL: "https://ca.example/why",
	}
	if !w.Start.Equal(want.Start) || !w.End.Equal(want.End) || w.RetryAfter != want.RetryAfter || w.ExplanationURL != want.ExplanationURL {
		t.Errorf("window %+v, want %+v", w, want)
	}
	if path != "/ari/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" {
		t.Errorf("asked %s", path)
	}
	if i.AccountID() != "" {
		t.Error("RenewalWindow must not register an account")
	}
	if id := i.replacesID(rfcLeaf(t)); id != "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" {
		t.Errorf("replacesID with ARI = %q", id)
	}
}

func TestRenewalWindowRejectsInvalidWindows(t *testing.T) {
	body := ""
	status := http.StatusOK
	_, i := fakeCA(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	})
	for _, b := range []string{
		`{"suggestedWindow":{"start":"2030-01-03T00:00:00Z","end":"2030-01-02T00:00:00Z"}}`,
		`{"suggestedWindow":{"start":"2030-01-03T00:00:00Z","end":"2030-01-03T00:00:00Z"}}`,
		`{}`,
	} {
		body = b
		_, err := i.RenewalWindow(context.Background(), rfcLeaf(t))
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindRetry || !strings.Contains(err.Error(), "invalid renewal window") {
			t.Errorf("%s: got %v", b, err)
		}
	}
	status, body = http.StatusNotFound, `{"type":"urn:ietf:params:acme:error:malformed","detail":"unknown certificate","status":404}`
	_, err := i.RenewalWindow(context.Background(), rfcLeaf(t))
	var e *Error
	if !errors.As(err, &e) || errors.Is(err, ErrNoARI) {
		t.Errorf("404: got %v", err)
	}
	if _, err := i.RenewalWindow(context.Background(), &x509.Certificate{SerialNumber: big.NewInt(1)}); !errors.As(err, &e) || e.Kind != KindConfig {
		t.Errorf("certificate without AKI: %v", err)
	}
}

func TestRenewalWindowUnreachableCA(t *testing.T) {
	i, err := New(Config{DirectoryURL: "https://127.0.0.1:1/dir", AccountsDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = i.RenewalWindow(context.Background(), rfcLeaf(t))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRetry || errors.Is(err, ErrNoARI) || !strings.Contains(err.Error(), "ACME_DIRECTORY_URL") {
		t.Errorf("got %v", err)
	}
}

func TestWindowRenewAt(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	past := Window{Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)}
	if at, ok := past.RenewAt(now, 0); !ok || !at.Equal(now) {
		t.Errorf("past window: %v %v, want now", at, ok)
	}
	soon := Window{Start: now.Add(10 * time.Minute), End: now.Add(20 * time.Minute)}
	for range 20 {
		at, ok := soon.RenewAt(now, time.Hour)
		if !ok || at.Before(soon.Start) || !at.Before(soon.End) {
			t.Fatalf("soon window: %v %v", at, ok)
		}
	}
	if _, ok := soon.RenewAt(now, time.Minute); ok {
		t.Error("a window beyond willingToSleep must ask again later")
	}
}
