package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestHealthURL(t *testing.T) {
	for in, want := range map[string]string{
		":9090":          "http://127.0.0.1:9090/healthz",
		"0.0.0.0:9090":   "http://127.0.0.1:9090/healthz",
		"[::]:9090":      "http://[::1]:9090/healthz",
		"10.0.0.5:80":    "http://10.0.0.5:80/healthz",
		"localhost:8080": "http://localhost:8080/healthz",
	} {
		if got, err := healthURL(in); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := healthURL("9090"); err == nil {
		t.Error("a port without a colon was accepted")
	}
}

func TestHealthCommand(t *testing.T) {
	cleanEnv(t)
	var unhealthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		if unhealthy.Load() {
			http.Error(w, "docker: connection refused", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	t.Run("unset", func(t *testing.T) {
		if r := runCmd(t, "health"); r.code != 2 || !strings.Contains(r.stderr, "CERTDOCK_LISTEN") {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
	})
	t.Setenv("CERTDOCK_LISTEN", ":"+port)
	t.Run("healthy", func(t *testing.T) {
		if r := runCmd(t, "health"); r.code != 0 || !strings.Contains(r.stdout, "ok") {
			t.Fatalf("exit %d: %s", r.code, r.all())
		}
	})
	t.Run("unhealthy", func(t *testing.T) {
		unhealthy.Store(true)
		if r := runCmd(t, "health"); r.code != 1 || !strings.Contains(r.all(), "503") {
			t.Fatalf("exit %d: %s", r.code, r.all())
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		srv.Close()
		if r := runCmd(t, "health"); r.code != 1 {
			t.Fatalf("exit %d: %s", r.code, r.all())
		}
	})
}
