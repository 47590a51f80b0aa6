// Package bench holds certdock's whole-binary benchmarks: the real
// executable, built as the image builds it, run as a daemon against real
// Pebble + bind9. scripts/bench prints their figures with the others.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
	"github.com/certdock/certdock/store"
)

// BenchmarkSteadyRSS builds cmd/certdock with the Dockerfile's flags, runs
// `certdock run` (with the Docker connection and the /healthz endpoint, as
// the image runs it) against real Pebble + bind9 with a domains.conf of 100
// names (the 100-certs case; 0-certs is the same daemon with an empty
// domains.conf, the fixed cost), waits until all are on disk and the
// daemon is idle, then samples VmRSS from /proc once a second for 5 s. It
// reports the median (MiB-rss, target ≤ 25 MB) and largest sample, the
// anonymous and file-backed parts of the last sample (RssAnon: heap and
// stacks; RssFile: pages of the executable), the peak (VmHWM) and the time
// to the last certificate. Set CERTDOCK_BENCH_BIN to measure an already
// built binary instead. Run it with -benchtime 1x.
func BenchmarkSteadyRSS(b *testing.B) {
	bind := testenv.StartBind(b, "example.com")
	pebble := testenv.StartPebble(b, bind.Addr, nil)
	bin := certdockBinary(b)
	round := 0
	for _, n := range []int{0, 100} {
		b.Run(fmt.Sprintf("%d-certs", n), func(b *testing.B) {
			for b.Loop() {
				round++
				steadyRSS(b, bin, bind, pebble, n, round)
			}
		})
	}
}

func steadyRSS(b *testing.B, bin string, bind *testenv.Bind, pebble *testenv.Pebble, certs, round int) {
	dir := b.TempDir()
	names := writeDomains(b, dir, fmt.Sprintf("rss%d", round), certs)
	env := append(os.Environ(),
		"CERTDOCK_DIR="+dir,
		"ACME_DIRECTORY_URL="+pebble.DirectoryURL,
		"ACME_CA_CERTIFICATES="+pebble.TLSCAFile,
		"DNS_PROVIDER=rfc2136",
		"DNS_RESOLVERS="+bind.Addr,
		"CERTDOCK_LISTEN="+fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b)),
		// No workload on this engine carries these labels: other tests'
		// containers must not add certificates to the measurement.
		"CERTDOCK_LABEL_PREFIX=certdock-bench-rss-none",
		"CERTDOCK_ALLOWED_DOMAINS=none.invalid",
	)
	for k, v := range bind.Env() {
		env = append(env, k+"="+v)
	}
	var logs testenv.LogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run")
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &logs, &logs
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cancel()
		<-exited
		if b.Failed() {
			b.Logf("certdock logs:\n%s", logs.String())
		}
	}()

	st := store.New(dir, store.Options{})
	deadline := time.Now().Add(5 * time.Minute)
	for left := slices.Clone(names); len(left) > 0; {
		left = slices.DeleteFunc(left, func(n string) bool { _, err := st.Load(n); return err == nil })
		select {
		case err := <-exited:
			b.Fatalf("certdock exited before issuing everything: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d certificates still missing after 5 min, e.g. %s", len(left), left[0])
		}
		time.Sleep(200 * time.Millisecond)
	}
	issued := time.Since(start)
	// Idle: the pass that wrote the last certificate finishes its
	// bookkeeping; then no log line for 2 s.
	quiet, last := time.Now(), len(logs.String())
	for time.Since(quiet) < 2*time.Second {
		time.Sleep(250 * time.Millisecond)
		if n := len(logs.String()); n != last {
			quiet, last = time.Now(), n
		}
		if time.Now().After(deadline) {
			b.Fatal("certdock never went quiet")
		}
	}
	var samples []float64
	for i := range 6 {
		if i > 0 {
			time.Sleep(time.Second)
		}
		samples = append(samples, procStatus(b, cmd.Process.Pid, "VmRSS"))
	}
	anon := procStatus(b, cmd.Process.Pid, "RssAnon")
	file := procStatus(b, cmd.Process.Pid, "RssFile")
	hwm := procStatus(b, cmd.Process.Pid, "VmHWM")
	b.Logf("VmRSS samples (MiB): %v", samples)
	slices.Sort(samples)
	b.ReportMetric(samples[len(samples)/2], "MiB-rss")
	b.ReportMetric(samples[len(samples)-1], "MiB-rss-max")
	b.ReportMetric(anon, "MiB-anon")
	b.ReportMetric(file, "MiB-file")
	b.ReportMetric(hwm, "MiB-hwm")
	b.ReportMetric(issued.Seconds(), "s-all-issued")
}

// writeDomains writes a domains.conf of n names PREFIX-NNN.example.com in
// dir and returns the names.
func writeDomains(b *testing.B, dir, prefix string, n int) []string {
	b.Helper()
	names := make([]string, n)
	var conf strings.Builder
	for i := range names {
		names[i] = fmt.Sprintf("%s-%03d.example.com", prefix, i)
		conf.WriteString(names[i] + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "domains.conf"), []byte(conf.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return names
}

// procStatus returns a kB field of /proc/<pid>/status in MiB.
func procStatus(b *testing.B, pid int, field string) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				b.Fatalf("/proc/%d/status %s: %v", pid, field, err)
			}
			return kb / 1024
		}
	}
	b.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

// certdockBinary returns CERTDOCK_BENCH_BIN, or builds cmd/certdock as the
// Dockerfile does (static, trimmed, stripped, embedded time zones). The
// first build compiles every lego DNS provider and takes minutes.
func certdockBinary(b *testing.B) string {
	b.Helper()
	if bin := os.Getenv("CERTDOCK_BENCH_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(b.TempDir(), "certdock")
	buildCertdock(b, bin, "-trimpath", "-tags", "timetzdata", "-ldflags", "-s -w")
	return bin
}

// buildCertdock builds cmd/certdock at bin with flags, statically
// (CGO_ENABLED=0) as the Dockerfile does.
func buildCertdock(b *testing.B, bin string, flags ...string) {
	b.Helper()
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", bin, "./cmd/certdock")...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("go build ./cmd/certdock: %v\n%s", err, out.String())
	}
	b.Logf("built %s in %v", bin, time.Since(start).Round(time.Second))
}
