package ops

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	m := NewMetrics("v9")
	m.SetCertificate("example.com", notAfter, renewAt, true)
	h := NewHealth()
	handler := Handler(m, h)

	get := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}

	tests := []struct {
		name     string
		setup    func()
		method   string
		path     string
		status   int
		ctype    string
		body     string // the whole body, when set
		contains string
	}{
		{name: "not ready", method: "GET", path: "/healthz", status: 503, ctype: "text/plain; charset=utf-8",
			body: "unhealthy\nready: waiting for the first pass\n"},
		{name: "ready", setup: func() { h.SetReady(); h.SetCheck("docker", nil) }, method: "GET", path: "/healthz",
			status: 200, ctype: "text/plain; charset=utf-8", body: "ok\nready: ok\ndocker: ok\n"},
		{name: "failing check", setup: func() { h.SetCheck("store", errors.New("disk full")) }, method: "GET", path: "/healthz",
			status: 503, body: "unhealthy\nready: ok\ndocker: ok\nstore: error: disk full\n"},
		{name: "recovered", setup: func() { h.SetCheck("store", nil) }, method: "GET", path: "/healthz",
			status: 200, body: "ok\nready: ok\ndocker: ok\nstore: ok\n"},
		{name: "HEAD healthz", method: "HEAD", path: "/healthz", status: 200},
		{name: "metrics", method: "GET", path: "/metrics", status: 200, ctype: "text/plain; version=0.0.4; charset=utf-8",
			contains: `certdock_certificate_ready_status{name="example.com",condition="True"} 1`},
		{name: "metrics with a query", method: "GET", path: "/metrics?x=1", status: 200},
		{name: "root", method: "GET", path: "/", status: 404},
		{name: "unknown path", method: "GET", path: "/debug/pprof/", status: 404},
		{name: "trailing slash", method: "GET", path: "/healthz/", status: 404},
		{name: "POST metrics", method: "POST", path: "/metrics", status: 405},
		{name: "DELETE healthz", method: "DELETE", path: "/healthz", status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			rec := get(tt.method, tt.path)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d; body:\n%s", rec.Code, tt.status, rec.Body)
			}
			if tt.ctype != "" && rec.Header().Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tt.ctype)
			}
			if tt.body != "" && rec.Body.String() != tt.body {
				t.Errorf("body:\n%s\nwant:\n%s", rec.Body, tt.body)
			}
			if tt.contains != "" && !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("body lacks %s:\n%s", tt.contains, rec.Body)
			}
		})
	}

	t.Run("metrics parse", func(t *testing.T) {
		parseExposition(t, get("GET", "/metrics").Body.String())
	})
}

func TestHandlerNil(t *testing.T) {
	handler := Handler(nil, nil)
	for _, path := range []string{"/healthz", "/metrics"} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 404 {
			t.Errorf("%s without its source: %d, want 404", path, rec.Code)
		}
	}
}

// fetch GETs url and returns status and body.
func fetch(url string) (int, string, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitDone waits for a Serve result.
func waitDone(t *testing.T, done <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		t.Fatalf("server still running %s after the context ended", within)
		return nil
	}
}

func TestServeListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := NewHealth()
	h.SetReady()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, ln, Handler(NewMetrics("dev"), h), nil) }()

	url := "http://" + ln.Addr().String()
	status, body, err := fetch(url + "/healthz")
	if err != nil || status != 200 || body != "ok\nready: ok\n" {
		t.Fatalf("GET /healthz = %d %q, %v", status, body, err)
	}
	if status, _, err := fetch(url + "/metrics"); err != nil || status != 200 {
		t.Fatalf("GET /metrics = %d, %v", status, err)
	}

	cancel()
	if err := waitDone(t, done, 3*time.Second); err != nil {
		t.Errorf("ServeListener after cancel: %v, want nil", err)
	}
	if _, _, err := fetch(url + "/healthz"); err == nil {
		t.Error("still answering after shutdown")
	}
}

func TestServe(t *testing.T) {
	// Serve binds by address: take a free port, release it, and try again
	// should something else grab it in between.
	for attempt := 1; !serveOnce(t, attempt == 3); attempt++ {
	}
}

// serveOnce runs Serve on a port that was free a moment ago, checks that
// it answers and stops on cancel. It returns false when the port was
// taken meanwhile (failing the test instead when last is set).
func serveOnce(t *testing.T, last bool) bool {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	h := NewHealth()
	h.SetReady()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, addr, Handler(nil, h), nil) }()

	var status int
	var body string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		if status, body, err = fetch("http://" + addr + "/healthz"); err == nil {
			break
		}
		select {
		case err := <-done:
			if !last {
				t.Logf("port taken meanwhile (%v): trying another", err)
				return false
			}
			t.Fatalf("Serve: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err != nil || status != 200 || body != "ok\nready: ok\n" {
		t.Fatalf("GET /healthz = %d %q, %v", status, body, err)
	}
	cancel()
	if err := waitDone(t, done, 3*time.Second); err != nil {
		t.Errorf("Serve after cancel: %v, want nil", err)
	}
	return true
}

func TestServeAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The context outlives the test's patience: only an immediate error
	// passes.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln.Addr().String(), Handler(nil, NewHealth()), nil) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
			t.Errorf("Serve on a bound address: %v, want an error naming the address", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Serve on a bound address did not return at once")
	}
}

func TestServeBadAddress(t *testing.T) {
	if err := Serve(t.Context(), "not an address", http.NotFoundHandler(), nil); err == nil {
		t.Error("Serve accepted a malformed address")
	}
}

// TestServeShutdownCutsSlowRequests checks the 2 s bound of the graceful
// shutdown: a request that never ends does not keep Serve running.
func TestServeShutdownCutsSlowRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 2 s shutdown delay")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, ln, slow, nil) }()
	go fetch("http://" + ln.Addr().String() + "/")
	select {
	case <-started:
	case <-time.After(2 * time.Second):
		t.Fatal("request never reached the handler")
	}
	begin := time.Now()
	cancel()
	if err := waitDone(t, done, 5*time.Second); err != nil {
		t.Errorf("ServeListener: %v, want nil", err)
	}
	if took := time.Since(begin); took < shutdownTimeout-100*time.Millisecond || took > shutdownTimeout+time.Second {
		t.Errorf("shutdown took %s, want about %s", took, shutdownTimeout)
	}
}
