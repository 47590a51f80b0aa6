// Package sandbox runs certdock's trial mode (`certdock sandbox`): a complete
// ACME DNS-01 setup inside the certdock process, so someone with no DNS
// provider credentials and no real domain can watch the real controller issue
// and write certificates.
//
// [Start] brings up, on free loopback ports:
//
//   - an ACME CA built from Pebble's packages (ca, db, va, wfe; the Let's
//     Encrypt test server), its directory served over HTTPS with a
//     certificate made at start for 127.0.0.1 and localhost;
//   - an authoritative DNS server (UDP and TCP) that answers for every name,
//     and against which Pebble validates DNS-01 challenges;
//   - a DNS-01 [Provider] that writes challenge records into that server.
//
// The certificates issued are real X.509 certificates but chain to a root
// Pebble generates at every start, which nothing trusts; [Env.IssuerRootsPEM]
// returns it. Everything lives in memory and is gone when the process exits.
//
// Pebble reads some of its settings only from environment variables, when its
// VA and WFE are constructed. Start sets them for the duration of the
// construction (serialised by a package mutex) and then restores the previous
// values, so the process environment is unchanged afterwards:
//
//	PEBBLE_VA_NOSLEEP=1       validate at once instead of sleeping 0-5 s
//	PEBBLE_VA_ALWAYS_VALID=0  really validate challenges (never skip)
//	PEBBLE_AUTHZREUSE=0       never reuse earlier valid authorizations
//	PEBBLE_WFE_NONCEREJECT=0  do not reject 5% of good nonces
//
// Pebble itself runs with strict mode off, no External Account Binding, one
// ECDSA root and intermediate, and a single profile "default" issuing 90-day
// certificates. Unlike Pebble, and like Let's Encrypt, a successful finalize
// response carries a Location header with the order's URL, which some clients
// (golang.org/x/crypto/acme) need. Pebble's VA starts a goroutine that has no
// way to be stopped, so each Start leaves one idle goroutine behind after
// Close.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
)

const (
	// certValidity is how long issued certificates are valid, like Let's
	// Encrypt's classic profile.
	certValidity = 90 * 24 * time.Hour

	// closeTimeout bounds how long Close waits for in-flight requests.
	closeTimeout = 5 * time.Second
)

// pebbleEnv is what Start sets in the environment while constructing Pebble.
var pebbleEnv = []struct{ name, value string }{
	{"PEBBLE_VA_NOSLEEP", "1"},
	{"PEBBLE_VA_ALWAYS_VALID", "0"},
	{"PEBBLE_AUTHZREUSE", "0"},
	{"PEBBLE_WFE_NONCEREJECT", "0"},
}

// pebbleEnvMu serialises the set-construct-restore sequence of concurrent
// Starts.
var pebbleEnvMu sync.Mutex

// Env is a running sandbox: an in-process ACME CA and DNS server. Its
// exported fields are set by [Start] and must not be changed. Call
// [Env.Close] to stop it.
type Env struct {
	// DirectoryURL is the ACME directory of the in-process CA,
	// https://127.0.0.1:PORT/dir.
	DirectoryURL string

	// TLSRootPEM is the PEM certificate of the CA that signed the TLS
	// certificate DirectoryURL is served with: what an ACME client's HTTP
	// client must trust (e.g. via ACME_CA_CERTIFICATES). It is not the root
	// of the issued certificates; see IssuerRootsPEM.
	TLSRootPEM []byte

	// DNSAddr is the address, "127.0.0.1:PORT", of the in-process DNS
	// server, which answers on UDP and TCP. Use it as the resolver for
	// DNS-01 propagation checks. Its port is not 53, so checks that query
	// a zone's authoritative name servers on port 53 must be disabled.
	DNSAddr string

	// Provider publishes DNS-01 challenge records in the DNS server at
	// DNSAddr, which is where the CA looks for them.
	Provider *Provider

	ca   *ca.CAImpl
	dns  *dnsServer
	http *http.Server

	httpServed chan error

	closeOnce sync.Once
	closeErr  error
}

// Start starts the sandbox: the DNS server, then Pebble with its VA pointed
// at that DNS server, then the HTTPS server for Pebble's ACME API. All
// listen on free ports of 127.0.0.1. ctx bounds only the start; the sandbox
// runs until Close. logger receives a summary at Info and the DNS server's and
// Pebble's own logs at Debug; nil discards everything.
//
// If Start fails, whatever it had started is stopped again.
func Start(ctx context.Context, logger *slog.Logger) (*Env, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	begin := time.Now()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	store := newTXTStore()
	dnsSrv, err := startDNS(ctx, &dnsHandler{store: store, log: logger.With("component", "sandbox-dns")})
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			sctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			defer cancel()
			_ = dnsSrv.shutdown(sctx)
		}
	}()

	tlsConfig, tlsRootPEM, err := servingTLS(time.Now())
	if err != nil {
		return nil, err
	}

	handler, caImpl, err := newPebble(logger.With("component", "pebble"), dnsSrv.addr)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sandbox acme: listen: %w", err)
	}
	httpSrv := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Mostly TLS handshake failures from clients that do not trust
		// TLSRootPEM.
		ErrorLog: slog.NewLogLogger(logger.With("component", "sandbox-https").Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- httpSrv.ServeTLS(ln, "", "") }()

	e := &Env{
		DirectoryURL: "https://" + ln.Addr().String() + wfe.DirectoryPath,
		TLSRootPEM:   tlsRootPEM,
		DNSAddr:      dnsSrv.addr,
		Provider:     &Provider{store: store, log: logger.With("component", "sandbox-dns")},
		ca:           caImpl,
		dns:          dnsSrv,
		http:         httpSrv,
		httpServed:   served,
	}
	logger.Info("sandbox ACME CA and DNS server started",
		"directory", e.DirectoryURL, "dns", e.DNSAddr, "took", time.Since(begin).Round(time.Millisecond))
	ok = true
	return e, nil
}

// newPebble builds Pebble's CA, VA and WFE, with the VA validating against
// the DNS server at resolver, and returns the WFE's ACME handler.
func newPebble(logger *slog.Logger, resolver string) (handler http.Handler, caImpl *ca.CAImpl, err error) {
	// Pebble wants a *log.Logger. When Debug is off, skip its formatting
	// altogether.
	pebbleLog := log.New(io.Discard, "", 0)
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		pebbleLog = slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
	}

	pebbleEnvMu.Lock()
	defer pebbleEnvMu.Unlock()
	restore := setEnv()
	defer func() {
		if rerr := restore(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	// Pebble panics when it cannot make keys or certificates.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sandbox acme: starting pebble: %v", p)
		}
	}()

	store := db.NewMemoryStore()
	profiles := map[string]ca.Profile{
		"default": {
			Description:    "certdock sandbox: untrusted 90-day certificates",
			ValidityPeriod: uint64(certValidity / time.Second),
		},
	}
	caImpl = ca.New(pebbleLog, store, "", "ecdsa", 0, 1, profiles)
	// The HTTP-01 and TLS-ALPN-01 ports are the standard ones; the sandbox
	// serves neither challenge, only DNS-01.
	vaImpl := va.New(pebbleLog, 80, 443, false, resolver, store)
	wfeImpl := wfe.New(pebbleLog, store, vaImpl, caImpl,
		[]string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	return withFinalizeLocation(wfeImpl.Handler()), caImpl, nil
}

// setEnv sets pebbleEnv and returns a function that puts back what was
// there before.
func setEnv() (restore func() error) {
	type saved struct {
		name, value string
		present     bool
	}
	old := make([]saved, 0, len(pebbleEnv))
	for _, kv := range pebbleEnv {
		v, ok := os.LookupEnv(kv.name)
		old = append(old, saved{kv.name, v, ok})
		_ = os.Setenv(kv.name, kv.value)
	}
	return func() error {
		var errs []error
		for _, s := range old {
			if s.present {
				errs = append(errs, os.Setenv(s.name, s.value))
			} else {
				errs = append(errs, os.Unsetenv(s.name))
			}
		}
		return errors.Join(errs...)
	}
}

// IssuerRootsPEM returns, in PEM, the root certificate(s) the in-process CA
// issues under (Pebble makes a new one at every start). Issued chains verify
// against these and nothing else; tell users their sandbox certificates are
// untrusted, or verify them in tests. It keeps working after Close.
func (e *Env) IssuerRootsPEM() ([]byte, error) {
	if e == nil || e.ca == nil {
		return nil, errors.New("sandbox: IssuerRootsPEM on an Env not returned by Start")
	}
	var out []byte
	for i := range e.ca.GetNumberOfRootCerts() {
		root := e.ca.GetRootCert(i)
		if root == nil {
			return nil, fmt.Errorf("sandbox: CA has no root certificate %d", i)
		}
		out = append(out, root.PEM()...)
	}
	if len(out) == 0 {
		return nil, errors.New("sandbox: CA has no root certificate")
	}
	return out, nil
}

// Close stops the HTTPS and DNS servers and releases their ports, waiting up
// to 5 s for requests in flight. Records published through Provider are no
// longer served. Further calls return the first call's result.
func (e *Env) Close() error {
	if e == nil || e.http == nil {
		return nil
	}
	e.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		var errs []error
		// Close, not Shutdown: the sandbox serves only certdock itself, and
		// Shutdown waits up to 5 s for connections opened but never used.
		if err := e.http.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sandbox acme close: %w", err))
		}
		if err := <-e.httpServed; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("sandbox acme: %w", err))
		}
		if err := e.dns.shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}
