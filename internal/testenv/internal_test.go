package testenv

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB whose Skip and Fatal are recorded instead of
// ending the real test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Skip(args ...any) { r.Skipf("%s", fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

// run calls f with a recorder in its own goroutine, so that Goexit ends
// only that goroutine.
func run(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// hideBinaries makes every prerequisite binary unfindable for one test.
// It must not run in parallel with other tests (it changes PATH and
// sbinDirs), and restores both in cleanup.
func hideBinaries(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	saved := sbinDirs
	sbinDirs = nil
	t.Cleanup(func() { sbinDirs = saved })
}

func TestMissingBinariesSkipOutsideCI(t *testing.T) {
	if testing.Short() {
		t.Skip("Start* skip under -short before looking for binaries")
	}
	hideBinaries(t)
	t.Setenv("CI", "")

	r := run(t, func(tb testing.TB) { StartBind(tb, "example.com") })
	if r.failed != "" || !strings.Contains(r.skipped, "named not found") || !strings.Contains(r.skipped, "scripts/test") {
		t.Errorf("StartBind without named: skipped %q, failed %q", r.skipped, r.failed)
	}
	r = run(t, func(tb testing.TB) { StartPebble(tb, "127.0.0.1:53", nil) })
	if r.failed != "" || !strings.Contains(r.skipped, "pebble not found") || !strings.Contains(r.skipped, "go install") {
		t.Errorf("StartPebble without pebble: skipped %q, failed %q", r.skipped, r.failed)
	}
}

func TestMissingBinariesFailInCI(t *testing.T) {
	if testing.Short() {
		t.Skip("Start* skip under -short before looking for binaries")
	}
	hideBinaries(t)
	t.Setenv("CI", "true")

	r := run(t, func(tb testing.TB) { StartBind(tb, "example.com") })
	if r.skipped != "" || !strings.Contains(r.failed, "named not found") || !strings.Contains(r.failed, "CI=true") {
		t.Errorf("StartBind without named under CI: skipped %q, failed %q", r.skipped, r.failed)
	}
}

func TestParseKeyFile(t *testing.T) {
	name, alg, secret, err := parseKeyFile("# comment\nkey \"k1\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\nkey \"k2\" {};\n")
	if err != nil || name != "k1" || alg != "hmac-sha256" || secret != "c2VjcmV0" {
		t.Errorf("parseKeyFile = %q %q %q %v", name, alg, secret, err)
	}
	if _, _, _, err := parseKeyFile("key \"k\" {\n\talgorithm hmac-sha256;\n};\n"); err == nil {
		t.Error("parseKeyFile accepted a key without a secret")
	}
}

func TestTailBuffer(t *testing.T) {
	var b tailBuffer
	for i := range 10000 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if len(b.String()) > tailBytes {
		t.Errorf("kept %d bytes, want at most %d", len(b.String()), tailBytes)
	}
	got := b.tail(2)
	if got != "line 9998\nline 9999" {
		t.Errorf("tail(2) = %q", got)
	}
}

// TestBindRetriesTakenPort gives named a port whose TCP side (then whose UDP
// side) is taken, and checks StartBind moves on to another port quickly.
func TestBindRetriesTakenPort(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			port := FreePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			if network == "tcp" {
				l, err := net.Listen("tcp4", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
			} else {
				l, err := net.ListenPacket("udp4", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
			}
			calls := 0
			bindPort = func(t testing.TB) int {
				calls++
				if calls == 1 {
					return port
				}
				return FreePort(t)
			}
			defer func() { bindPort = FreePort }()

			start := time.Now()
			b := StartBind(t, "example.com")
			if b.Addr == addr || calls != 2 {
				t.Errorf("StartBind used %s after %d port picks, want a second port", b.Addr, calls)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("StartBind took %v to get past a taken port", d)
			}
			if got := b.TXT(t, "_acme-challenge.example.com"); got != nil {
				t.Errorf("TXT = %q", got)
			}
		})
	}
}

// TestContextHash: the build-context hash changes with a file the build
// sees and not with one .dockerignore excludes.
func TestContextHash(t *testing.T) {
	root := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".dockerignore", "docs\n/bin\n*.test\n**/*_test.go\n")
	write("Dockerfile", "FROM scratch\n")
	write("main.go", "package main\n")
	write("docs/a.md", "doc")
	write("pkg/deep/keep.go", "package deep")
	hash := func() string {
		t.Helper()
		h, err := contextHash(root, "base")
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h0 := hash()
	write("docs/a.md", "changed doc")
	write("bin/tool", "x")
	write("x.test", "x")
	write("main_test.go", "package main")
	write("pkg/deep/a_test.go", "package deep")
	if h := hash(); h != h0 {
		t.Fatal("a change to excluded files changed the hash")
	}
	write("pkg/deep/a.go", "package deep")
	if h := hash(); h == h0 {
		t.Fatal("a new file under pkg/deep did not change the hash")
	}
	write("main.go", "package main // changed\n")
	h1 := hash()
	if h1 == h0 {
		t.Fatal("a change to main.go did not change the hash")
	}
	write("Dockerfile", "FROM scratch\nCOPY . .\n")
	if h := hash(); h == h1 {
		t.Fatal("a change to the Dockerfile (listed in .dockerignore, sent anyway) did not change the hash")
	}
	if h, _ := contextHash(root, "other base"); h == hash() {
		t.Fatal("another base image did not change the hash")
	}
}
