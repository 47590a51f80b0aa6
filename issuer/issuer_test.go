package issuer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/go-acme/lego/v5/challenge"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/acme"

	"github.com/certdock/certdock/cert"
)

func TestAccountDir(t *testing.T) {
	tests := []struct {
		name, url, want string
		wantErr         bool
	}{
		{name: "letsencrypt", url: "https://acme-v02.api.letsencrypt.org/directory", want: "acme-v02.api.letsencrypt.org/directory/certdock"},
		{name: "port", url: "https://127.0.0.1:14000/dir", want: "127.0.0.1_14000/dir/certdock"},
		{name: "no path", url: "https://ca.example", want: "ca.example/directory/certdock"},
		{name: "dot-dot path", url: "https://ca.example/../../etc", wantErr: true},
		{name: "no host", url: "/dir", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := accountDir("/root", tt.url)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != filepath.Join("/root", tt.want) {
				t.Errorf("accountDir = %q, want %q", got, filepath.Join("/root", tt.want))
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		kind      Kind
		permanent bool
		after     time.Duration
	}{
		{name: "rate limited", err: &acme.RateLimitedError{ProblemDetails: &acme.ProblemDetails{HTTPStatus: 429}, RetryAfter: time.Hour}, kind: KindRateLimited, after: time.Hour},
		{name: "server error", err: &acme.ProblemDetails{HTTPStatus: 503, Type: "urn:ietf:params:acme:error:serverInternal"}, kind: KindRetry},
		{name: "rejected identifier", err: fmt.Errorf("order: %w", &acme.ProblemDetails{HTTPStatus: 400, Type: "urn:ietf:params:acme:error:rejectedIdentifier"}), kind: KindRejected, permanent: true},
		{name: "plain", err: errors.New("boom"), kind: KindRetry},
		{name: "already classified", err: &Error{Kind: KindConfig, Err: errors.New("x")}, kind: KindConfig, permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *Error
			if !errors.As(classify(tt.err), &e) {
				t.Fatal("classify did not return *Error")
			}
			if e.Kind != tt.kind || e.Permanent() != tt.permanent || e.After() != tt.after {
				t.Errorf("got kind %v permanent %v after %v", e.Kind, e.Permanent(), e.After())
			}
			if !errors.Is(e, tt.err) && !errors.Is(tt.err, e) {
				t.Error("cause not kept")
			}
		})
	}
}

func TestPollCheckPollsUntilPropagated(t *testing.T) {
	var calls atomic.Int32
	check := func(ctx context.Context, fqdn, value string) (bool, error) {
		if calls.Add(1) < 4 {
			return false, errors.New("not yet")
		}
		return true, nil
	}
	start := time.Now()
	ok, err := pollCheck(0)(context.Background(), "a.example.com", "_acme-challenge.a.example.com.", "v", check)
	if !ok || err != nil || calls.Load() != 4 {
		t.Fatalf("ok %v err %v calls %d", ok, err, calls.Load())
	}
	// 25 + 50 + 100 ms between the four checks, and no sleep before the first.
	if d := time.Since(start); d < 175*time.Millisecond || d > 2*time.Second {
		t.Errorf("took %v, want about 175ms", d)
	}
	calls.Store(10)
	start = time.Now()
	if ok, _ := pollCheck(0)(context.Background(), "", "f.", "v", check); !ok || time.Since(start) > 20*time.Millisecond {
		t.Errorf("a record already present must be accepted at once (took %v)", time.Since(start))
	}
}

func TestPollCheckSleepsOncePerRecord(t *testing.T) {
	check := func(context.Context, string, string) (bool, error) { return true, nil }
	pc := pollCheck(60 * time.Millisecond)
	start := time.Now()
	pc(context.Background(), "", "f.", "v", check)
	first := time.Since(start)
	start = time.Now()
	pc(context.Background(), "", "f.", "v", check)
	if first < 60*time.Millisecond || time.Since(start) > 30*time.Millisecond {
		t.Errorf("first check after %v (want ≥60ms), second after %v (want no wait)", first, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pc(ctx, "", "g.", "v", check); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait returned %v", err)
	}
}

type seqProvider struct{}

func (seqProvider) Present(context.Context, string, string, string) error { return nil }
func (seqProvider) CleanUp(context.Context, string, string, string) error { return nil }
func (seqProvider) Sequential() time.Duration                             { return time.Minute }

func TestSequentialInterval(t *testing.T) {
	env := map[string]string{}
	newIssuer := func(p challenge.Provider, profiles map[string]Profile) *Issuer {
		cfg := Config{Provider: p, Getenv: func(k string) string { return env[k] }, Profiles: profiles}
		ds, err := newDNSSetups(cfg, "")
		if err != nil {
			t.Fatal(err)
		}
		return &Issuer{cfg: cfg, dns: ds}
	}
	i := newIssuer(seqProvider{}, map[string]Profile{
		"quiet":    {Provider: seqProvider{}},
		"explicit": {Provider: seqProvider{}, SequenceIntervalSet: true},
	})
	if d := i.sequential(); d == nil || *d != 0 {
		t.Fatalf("default sequence interval = %v, want 0 (not lego's 60 s)", d)
	}
	// A profile keeps lego's interval only when it sets its own, whatever
	// the process environment says.
	if d := i.dns["quiet"].sequential(); d == nil || *d != 0 {
		t.Fatalf("profile without interval: %v", d)
	}
	if d := i.dns["explicit"].sequential(); d == nil || *d != time.Minute {
		t.Fatalf("profile with interval: %v", d)
	}
	t.Setenv("DNSUPDATE_SEQUENCE_INTERVAL", "30")
	env["DNSUPDATE_SEQUENCE_INTERVAL"] = "30"
	if d := i.sequential(); d == nil || *d != time.Minute {
		t.Fatalf("explicit sequence interval ignored: %v", d)
	}
	if d := i.dns["quiet"].sequential(); d == nil || *d != 0 {
		t.Fatalf("the default provider's interval applied to a profile: %v", d)
	}
	i = newIssuer(struct{ parProviderIface }{seqProvider{}}, nil)
	if d := i.sequential(); d != nil {
		t.Fatalf("parallel provider reported sequential")
	}
}

// parProviderIface hides seqProvider's Sequential method.
type parProviderIface interface {
	Present(context.Context, string, string, string) error
	CleanUp(context.Context, string, string, string) error
}

func TestDemoteLowersLegoInfo(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(demote{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})})
	log.Info("lego chatter")
	log.Warn("lego warning")
	if strings.Contains(buf.String(), "chatter") || !strings.Contains(buf.String(), "warning") {
		t.Errorf("log output %q", buf.String())
	}
}

func TestNewHTTPClientRejectsBadCAFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := newHTTPClient([]string{filepath.Join(dir, "missing.pem")}, nil); err == nil || !strings.Contains(err.Error(), "ACME_CA_CERTIFICATES") {
		t.Errorf("missing file: %v", err)
	}
	c, err := newHTTPClient(nil, nil)
	if err != nil || c.Transport.(*http.Transport).TLSClientConfig.RootCAs != nil {
		t.Errorf("default client must use the system roots: %v", err)
	}
}

func TestIssueWithProviderErrorIsConfigError(t *testing.T) {
	i, err := New(Config{DirectoryURL: "https://127.0.0.1:1/dir", ProviderName: "cloudflare", ProviderErr: errors.New("missing CLOUDFLARE_DNS_API_TOKEN")})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = i.Issue(context.Background(), cert.Spec{Name: "a.example.com", Domains: []string{"a.example.com"}})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindConfig || !strings.Contains(err.Error(), "CLOUDFLARE_DNS_API_TOKEN") {
		t.Fatalf("got %v", err)
	}
}
