package docker

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"

	"github.com/certdock/certdock/cert"
)

func TestNewHost(t *testing.T) {
	tests := []struct {
		name, host string
		wantErr    string
	}{
		{name: "default", host: ""},
		{name: "unix", host: "unix:///var/run/docker.sock"},
		{name: "unix socket that does not exist", host: "unix:///nonexistent/docker.sock"},
		{name: "tcp proxy", host: "tcp://socket-proxy:2375"},
		{name: "tcp ip", host: "tcp://127.0.0.1:2375"},
		{name: "no scheme", host: "/var/run/docker.sock", wantErr: "invalid host"},
		{name: "tcp without port", host: "tcp://socket-proxy", wantErr: "needs host:port"},
		{name: "relative unix", host: "unix://docker.sock", wantErr: "absolute path"},
		{name: "ssh", host: "ssh://user@host", wantErr: "unsupported host"},
		{name: "http", host: "http://host:2375", wantErr: "unsupported host"},
		{name: "empty after scheme", host: "unix://", wantErr: "invalid host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.host == "" {
				t.Setenv("DOCKER_HOST", "")
			}
			c, err := New(Options{Host: tt.host})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New(%q) error = %v, want one containing %q", tt.host, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tt.host, err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestNewHostFromEnvironment(t *testing.T) {
	t.Setenv("DOCKER_HOST", "ssh://user@host")
	if _, err := New(Options{}); err == nil || !strings.Contains(err.Error(), "unsupported host") {
		t.Fatalf("New with DOCKER_HOST=ssh://... error = %v, want unsupported host", err)
	}
}

// TestDaemonDown checks the behaviour without a daemon: New succeeds,
// Snapshot and actions fail promptly, Watch keeps retrying without calling
// Connected and returns when its context ends.
func TestDaemonDown(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	c, err := New(Options{Host: "unix://" + sock, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	if ws, err := c.Snapshot(ctx); err == nil {
		t.Fatalf("Snapshot without a daemon = %v, want an error", ws)
	}
	if err := c.Restart(ctx, "web", time.Second); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Restart without a daemon: %v, want an error that is not ErrNotFound", err)
	}
	errs := c.Act(ctx, []cert.Action{{Kind: cert.Signal, Target: "web", Signal: "HUP"}})
	if len(errs) != 1 {
		t.Errorf("Act without a daemon = %v, want one error", errs)
	}

	rec := newRecorder()
	c.minBackoff, c.maxBackoff = 10*time.Millisecond, 40*time.Millisecond
	wctx, wcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer wcancel()
	start := time.Now()
	c.Watch(wctx, rec)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Watch returned %v after its context ended", took)
	}
	if n := len(rec.connected); n != 0 {
		t.Errorf("Connected called %d times without a daemon", n)
	}
	if c.Healthy() {
		t.Error("Healthy() = true without a daemon")
	}
}

func TestActRefusesServiceSignal(t *testing.T) {
	c, err := New(Options{Host: "unix://" + filepath.Join(t.TempDir(), "none.sock")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errs := c.Act(t.Context(), []cert.Action{
		{Kind: cert.Signal, Target: "web", Service: true, Signal: "HUP"},
		{Kind: cert.Exec, Target: "web", Service: true, Command: []string{"true"}},
		{Kind: "teleport", Target: "web"},
		{Kind: cert.Signal, Target: "web", Signal: "SIGFOO"},
		{Kind: cert.Exec, Target: "web"},
		{Kind: cert.Restart, Target: ""},
	})
	if len(errs) != 6 {
		t.Fatalf("Act = %v, want 6 errors", errs)
	}
	for _, err := range errs {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotRunning) {
			t.Errorf("error %v wraps a daemon state", err)
		}
		t.Log(err)
	}
}

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		max    int
		want   string
	}{
		{name: "short", writes: []string{"ab", "cd"}, max: 8, want: "abcd"},
		{name: "exact", writes: []string{"abcd", "efgh"}, max: 8, want: "abcdefgh"},
		{name: "overflow across writes", writes: []string{"abcdef", "ghij"}, max: 8, want: "cdefghij"},
		{name: "one big write", writes: []string{"0123456789"}, max: 4, want: "6789"},
		{name: "big write after small", writes: []string{"ab", "0123456789"}, max: 4, want: "6789"},
		{name: "many small", writes: []string{"a", "b", "c", "d", "e", "f"}, max: 3, want: "def"},
		{name: "cut inside a character", writes: []string{"xé", "abc"}, max: 4, want: "abc"},
		{name: "invalid utf-8", writes: []string{"a\xffb"}, max: 8, want: "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &tailBuffer{max: tt.max}
			for _, w := range tt.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
				if len(b.buf) > tt.max {
					t.Fatalf("buffer holds %d bytes, max %d", len(b.buf), tt.max)
				}
			}
			if got := b.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSameUpdate(t *testing.T) {
	t1 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Second)
	st := func(state string, at time.Time) *swarm.UpdateStatus {
		return &swarm.UpdateStatus{State: swarm.UpdateState(state), StartedAt: &at}
	}
	tests := []struct {
		name string
		a, b *swarm.UpdateStatus
		want bool
	}{
		{name: "both nil", want: true},
		{name: "new status", a: st("updating", t1), want: false},
		{name: "same", a: st("completed", t1), b: st("completed", t1), want: true},
		{name: "same update progressed", a: st("completed", t1), b: st("updating", t1), want: false},
		{name: "later update", a: st("updating", t2), b: st("completed", t1), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameUpdate(tt.a, tt.b); got != tt.want {
				t.Errorf("sameUpdate = %t, want %t", got, tt.want)
			}
		})
	}
}
