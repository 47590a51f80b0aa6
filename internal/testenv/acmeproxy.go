package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Endpoint is the kind of ACME resource a request addressed, recognised by
// Pebble's URL paths.
type Endpoint string

// The endpoints ACMEProxy tells apart (Pebble v2.10.1's paths in brackets).
const (
	EndpointDirectory     Endpoint = "directory"     // /dir
	EndpointNonce         Endpoint = "newNonce"      // /nonce-plz
	EndpointNewAccount    Endpoint = "newAccount"    // /sign-me-up
	EndpointAccount       Endpoint = "account"       // /my-account/
	EndpointNewOrder      Endpoint = "newOrder"      // /order-plz
	EndpointOrder         Endpoint = "order"         // /my-order/
	EndpointFinalize      Endpoint = "finalize"      // /finalize-order/
	EndpointAuthorization Endpoint = "authorization" // /authZ/
	EndpointChallenge     Endpoint = "challenge"     // /chalZ/
	EndpointCertificate   Endpoint = "certificate"   // /certZ/
	EndpointRevoke        Endpoint = "revokeCert"    // /revoke-cert
	EndpointKeyChange     Endpoint = "keyChange"     // /rollover-account-key
	EndpointRenewalInfo   Endpoint = "renewalInfo"   // /draft-ietf-acme-ari-03/renewalInfo/
	EndpointOther         Endpoint = "other"
	// EndpointConnection marks a connection reset by Down before any
	// request was read.
	EndpointConnection Endpoint = "connection"
)

// pebblePaths maps Pebble's path prefixes to endpoints, longest first
// where prefixes overlap.
var pebblePaths = []struct {
	prefix string
	kind   Endpoint
}{
	{"/dir", EndpointDirectory},
	{"/nonce-plz", EndpointNonce},
	{"/sign-me-up", EndpointNewAccount},
	{"/my-account/", EndpointAccount},
	{"/order-plz", EndpointNewOrder},
	{"/my-order/", EndpointOrder},
	{"/finalize-order/", EndpointFinalize},
	{"/authZ/", EndpointAuthorization},
	{"/chalZ/", EndpointChallenge},
	{"/certZ/", EndpointCertificate},
	{"/revoke-cert", EndpointRevoke},
	{"/rollover-account-key", EndpointKeyChange},
	{"/draft-ietf-acme-ari-03/renewalInfo/", EndpointRenewalInfo},
}

// EndpointOf classifies a request path of Pebble's ACME interface.
func EndpointOf(path string) Endpoint {
	for _, p := range pebblePaths {
		if strings.HasPrefix(path, p.prefix) {
			return p.kind
		}
	}
	return EndpointOther
}

// Faults recorded in ACMERequest.Fault.
const (
	FaultDown      = "down"       // the connection was reset
	FaultStatus    = "status"     // answered with the status set by Status
	FaultRateLimit = "rate-limit" // answered 429 rateLimited
)

// ACMERequest is one request ACMEProxy received (or, with Endpoint
// EndpointConnection, one connection it reset while Down).
type ACMERequest struct {
	// Time is when the request arrived.
	Time time.Time
	// Method and Path are the request's (empty for a reset connection).
	Method, Path string
	// Endpoint classifies Path.
	Endpoint Endpoint
	// Status is the status sent to the client; 0 when none was sent (the
	// connection was reset, or the client gave up first) or the request is
	// still being served.
	Status int
	// Fault names the injected fault that answered the request (one of
	// the Fault* constants), "" when Pebble's answer was passed on.
	Fault string
	// Delay is the delay injected before the request was handled.
	Delay time.Duration
}

// ACMEProxyName is a name the proxy's TLS certificate also holds, besides
// 127.0.0.1 and localhost: a client that cannot reach the host's loopback
// (certdock in a container on a swarm node) maps it to a Relay's address
// (--add-host, extra_hosts) and uses
// https://ACMEProxyName:RELAYPORT/dir as its directory.
const ACMEProxyName = "acme-proxy.test"

// ACMEProxy is an HTTPS reverse proxy on loopback in front of a Pebble,
// counting requests by endpoint and injecting faults: connection resets,
// error statuses, rate limits, slow answers. Requests are forwarded with
// their Host header (the proxy's address), so every URL Pebble puts in its
// answers (directory, Location, Link) points at the proxy and the JWS
// "url" of signed requests matches what Pebble expects. It is safe for
// concurrent use; faults can change while clients are talking to it.
type ACMEProxy struct {
	// Addr is "127.0.0.1:PORT".
	Addr string
	// DirectoryURL is the proxied directory, "https://127.0.0.1:PORT/dir":
	// give it to clients as ACME_DIRECTORY_URL.
	DirectoryURL string
	// CAFile is a PEM file holding the throw-away CA that signs the proxy's
	// TLS certificate: give it to clients as ACME_CA_CERTIFICATES.
	CAFile string

	srv *http.Server

	mu     sync.Mutex
	log    []ACMERequest
	down   bool
	conns  map[net.Conn]bool
	status []statusRule
	limit  []limitRule
	delay  []delayRule
	// hide are challenge types removed from authorizations (HideChallenges).
	hide []string
}

type statusRule struct {
	code     int
	prefixes []string
}

type limitRule struct {
	retryAfter time.Duration
	prefixes   []string
}

type delayRule struct {
	d        time.Duration
	prefixes []string
}

// pathMatches reports whether path starts with one of prefixes; no prefixes
// match every path.
func pathMatches(prefixes []string, path string) bool {
	if len(prefixes) == 0 {
		return true
	}
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(path, p) })
}

// StartACMEProxy starts an ACMEProxy in front of p on a free loopback port.
// It stops in t's cleanup.
func StartACMEProxy(t testing.TB, p *Pebble) *ACMEProxy {
	t.Helper()
	dir, err := url.Parse(p.DirectoryURL)
	if err != nil {
		t.Fatalf("testenv: Pebble's directory URL: %v", err)
	}
	upstream := &url.URL{Scheme: dir.Scheme, Host: dir.Host}

	caPEM, err := os.ReadFile(p.TLSCAFile)
	if err != nil {
		t.Fatalf("testenv: Pebble's TLS CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("testenv: %s holds no PEM certificate", p.TLSCAFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	t.Cleanup(tr.CloseIdleConnections)

	leaf, caFile := proxyCertificate(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: ACME proxy: %v", err)
	}
	ap := &ACMEProxy{
		Addr:   ln.Addr().String(),
		CAFile: caFile,
		conns:  map[net.Conn]bool{},
	}
	ap.DirectoryURL = "https://" + ap.Addr + dir.Path
	// Resets and clients that give up are the point of this proxy: their
	// errors are not worth logging.
	quiet := log.New(io.Discard, "", 0)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			// Pebble builds its URLs from the Host header: keep the
			// proxy's, so clients keep talking to the proxy.
			r.Out.Host = r.In.Host
		},
		Transport: tr,
		ErrorLog:  quiet,
	}
	ap.srv = &http.Server{
		Handler:           ap.handler(rp),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12},
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){}, // HTTP/1.1 only
		ReadHeaderTimeout: 30 * time.Second,
		ConnState:         ap.connState,
		ErrorLog:          quiet,
	}
	go ap.srv.ServeTLS(downListener{Listener: ln, p: ap}, "", "")
	t.Cleanup(func() { ap.srv.Close() })
	return ap
}

// handler applies the faults in force, then forwards to Pebble.
func (ap *ACMEProxy) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap.mu.Lock()
		e := ACMERequest{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Endpoint: EndpointOf(r.URL.Path)}
		down := ap.down
		var (
			code       int
			retryAfter time.Duration
			limited    bool
		)
		for _, d := range ap.delay {
			if pathMatches(d.prefixes, e.Path) {
				e.Delay = d.d
			}
		}
		for _, l := range ap.limit {
			if pathMatches(l.prefixes, e.Path) {
				retryAfter, limited = l.retryAfter, true
			}
		}
		for _, s := range ap.status {
			if pathMatches(s.prefixes, e.Path) {
				code = s.code
			}
		}
		switch {
		case down:
			e.Fault = FaultDown
		case limited:
			e.Fault = FaultRateLimit
		case code != 0:
			e.Fault = FaultStatus
		}
		idx := len(ap.log)
		ap.log = append(ap.log, e)
		hide := ap.hide
		ap.mu.Unlock()

		if down {
			// Down was set while this keep-alive connection was open.
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					resetConn(c)
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		if e.Delay > 0 {
			t := time.NewTimer(e.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		sw := &statusWriter{ResponseWriter: w}
		switch {
		case limited:
			secs := int((retryAfter + time.Second - 1) / time.Second)
			sw.Header().Set("Retry-After", strconv.Itoa(secs))
			writeProblem(sw, http.StatusTooManyRequests, "urn:ietf:params:acme:error:rateLimited",
				fmt.Sprintf("testenv: rate limited, retry after %d s", secs))
		case code != 0:
			typ := "urn:ietf:params:acme:error:serverInternal"
			if code < 500 {
				typ = "urn:ietf:params:acme:error:malformed"
			}
			writeProblem(sw, code, typ, fmt.Sprintf("testenv: injected status %d", code))
		case e.Endpoint == EndpointAuthorization && len(hide) > 0:
			hideChallenges(sw, r, next, hide)
		default:
			next.ServeHTTP(sw, r)
		}
		ap.mu.Lock()
		ap.log[idx].Status = sw.status
		ap.mu.Unlock()
	})
}

// writeProblem answers an RFC 7807 problem document as an ACME server does.
func writeProblem(w http.ResponseWriter, code int, typ, detail string) {
	body, _ := json.Marshal(map[string]any{"type": typ, "detail": detail, "status": code})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(body)
}

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets the reverse proxy flush through the recorder.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// downListener resets every connection accepted while the proxy is Down,
// before the TLS handshake, and records it.
type downListener struct {
	net.Listener
	p *ACMEProxy
}

func (l downListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.p.mu.Lock()
		down := l.p.down
		if down {
			l.p.log = append(l.p.log, ACMERequest{Time: time.Now(), Endpoint: EndpointConnection, Fault: FaultDown})
		}
		l.p.mu.Unlock()
		if !down {
			return c, nil
		}
		resetConn(c)
	}
}

// resetConn closes c with an RST (SO_LINGER 0): the client sees "connection
// reset by peer", as when a server process dies.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	} else if tlsc, ok := c.(*tls.Conn); ok {
		if tc, ok := tlsc.NetConn().(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
	}
	c.Close()
}

func (ap *ACMEProxy) connState(c net.Conn, s http.ConnState) {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	switch s {
	case http.StateNew:
		ap.conns[c] = true
	case http.StateClosed, http.StateHijacked:
		delete(ap.conns, c)
	}
}

// Down makes the CA unreachable: open connections are reset, and every new
// connection is reset before the TLS handshake (clients see "connection
// reset by peer" or EOF) until Heal. Each reset connection is recorded
// with Endpoint EndpointConnection.
func (ap *ACMEProxy) Down() {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	ap.down = true
	for c := range ap.conns {
		resetConn(c)
	}
}

// Status answers every request whose path starts with one of prefixes
// (every request when none are given) with code and an ACME problem
// document (serverInternal for 5xx, malformed otherwise), without
// forwarding it to Pebble. A later call for the same paths wins.
func (ap *ACMEProxy) Status(code int, prefixes ...string) {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	ap.status = append(ap.status, statusRule{code: code, prefixes: prefixes})
}

// RateLimit answers every request whose path starts with one of prefixes
// (every request when none are given) with 429, an ACME problem document
// of type urn:ietf:params:acme:error:rateLimited and a Retry-After header
// of retryAfter (in whole seconds, rounded up), without forwarding it.
func (ap *ACMEProxy) RateLimit(retryAfter time.Duration, prefixes ...string) {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	ap.limit = append(ap.limit, limitRule{retryAfter: retryAfter, prefixes: prefixes})
}

// Delay holds every request whose path starts with one of prefixes (every
// request when none are given) for d before handling it (forwarding it or
// answering with an injected fault). A later call for the same paths wins.
func (ap *ACMEProxy) Delay(d time.Duration, prefixes ...string) {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	ap.delay = append(ap.delay, delayRule{d: d, prefixes: prefixes})
}

// Heal removes every fault: requests are forwarded to Pebble at once again.
func (ap *ACMEProxy) Heal() {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	ap.down = false
	ap.status, ap.limit, ap.delay, ap.hide = nil, nil, nil, nil
}

// Requests returns a copy of the request log, oldest first.
func (ap *ACMEProxy) Requests() []ACMERequest {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	return slices.Clone(ap.log)
}

// Count returns how many requests addressed one of endpoints (all
// requests and reset connections when none are given).
func (ap *ACMEProxy) Count(endpoints ...Endpoint) int {
	return ap.CountSince(time.Time{}, endpoints...)
}

// CountSince is Count restricted to requests that arrived at or after
// since.
func (ap *ACMEProxy) CountSince(since time.Time, endpoints ...Endpoint) int {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	n := 0
	for _, r := range ap.log {
		if r.Time.Before(since) {
			continue
		}
		if len(endpoints) == 0 || slices.Contains(endpoints, r.Endpoint) {
			n++
		}
	}
	return n
}

// Summary counts the requests that arrived at or after since by endpoint,
// e.g. "directory=1 newNonce=1 renewalInfo=3", for test logs.
func (ap *ACMEProxy) Summary(since time.Time) string {
	ap.mu.Lock()
	counts := map[Endpoint]int{}
	for _, r := range ap.log {
		if !r.Time.Before(since) {
			counts[r.Endpoint]++
		}
	}
	ap.mu.Unlock()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, string(k))
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[Endpoint(k)]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// proxyCertificate makes a throw-away CA and a leaf for 127.0.0.1 and
// localhost signed by it, and writes the CA's PEM to a file.
func proxyCertificate(t testing.TB) (tls.Certificate, string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "certdock testenv ACME proxy CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost", ACMEProxyName},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	caFile := filepath.Join(t.TempDir(), "acme-proxy-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}, caFile
}
