package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
	"github.com/certdock/certdock/store"
)

// BenchmarkImageMemory runs the image the repository's Dockerfile builds
// (testenv.BuildCertdockImage: minutes the first time) as compose.yml runs
// it — the engine's socket mounted, /healthz listening — on the host
// network against real Pebble + bind9, with a domains.conf of 100 names.
// Once all are on disk and the daemon is idle, it samples the container's
// memory as `docker stats` reports it (the cgroup's usage less its
// inactive file cache) and the certdock process's VmRSS, once a second for
// 5 s, and reports their medians (target ≤ 25 MiB for both). Run it with
// -benchtime 1x.
func BenchmarkImageMemory(b *testing.B) {
	testenv.RequireDocker(b)
	ref := testenv.BuildCertdockImage(b, "..")
	bind := testenv.StartBind(b, "example.com")
	pebble := testenv.StartPebble(b, bind.Addr, nil)
	round := 0
	for b.Loop() {
		round++
		imageMemory(b, ref, bind, pebble, 100, round)
	}
}

func imageMemory(b *testing.B, ref string, bind *testenv.Bind, pebble *testenv.Pebble, certs, round int) {
	dir := b.TempDir()
	names := writeDomains(b, dir, fmt.Sprintf("img%d", round), certs)
	args := []string{"run", "--detach", "--label", "certdock-test=1", "--network", "host",
		"--volume", dir + ":/etc/letsencrypt",
		"--volume", "/var/run/docker.sock:/var/run/docker.sock",
		"--volume", pebble.TLSCAFile + ":/pebble-ca.pem:ro",
	}
	env := map[string]string{
		"ACME_DIRECTORY_URL":    pebble.DirectoryURL,
		"ACME_CA_CERTIFICATES":  "/pebble-ca.pem",
		"DNS_PROVIDER":          "rfc2136",
		"DNS_RESOLVERS":         bind.Addr,
		"CERTDOCK_LISTEN":       fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b)),
		"CERTDOCK_LABEL_PREFIX": "certdock-bench-image-none",
	}
	for k, v := range bind.Env() {
		env[k] = v
	}
	for k, v := range env {
		args = append(args, "--env", k+"="+v)
	}
	id := dockerOut(b, append(args, ref)...)
	defer func() {
		if b.Failed() {
			out, _ := exec.Command("docker", "logs", "--tail", "50", id).CombinedOutput()
			b.Logf("certdock's logs:\n%s", out)
		}
		exec.Command("docker", "rm", "--force", id).Run() //nolint:errcheck // best effort: the container is labelled certdock-test
	}()
	start := time.Now()

	st := store.New(dir, store.Options{})
	deadline := time.Now().Add(5 * time.Minute)
	for left := slices.Clone(names); len(left) > 0; {
		left = slices.DeleteFunc(left, func(n string) bool { _, err := st.Load(n); return err == nil })
		if time.Now().After(deadline) {
			b.Fatalf("%d certificates still missing after 5 min, e.g. %s", len(left), left[0])
		}
		time.Sleep(200 * time.Millisecond)
	}
	issued := time.Since(start)
	// Idle: no log line for 2 s.
	quiet, last := time.Now(), ""
	for time.Since(quiet) < 2*time.Second {
		time.Sleep(250 * time.Millisecond)
		if out, _ := exec.Command("docker", "logs", "--tail", "1", id).CombinedOutput(); string(out) != last {
			quiet, last = time.Now(), string(out)
		}
		if time.Now().After(deadline) {
			b.Fatal("certdock never went quiet")
		}
	}
	pid, err := strconv.Atoi(dockerOut(b, "inspect", "--format", "{{.State.Pid}}", id))
	if err != nil {
		b.Fatal(err)
	}
	var stats, rss []float64
	for i := range 6 {
		if i > 0 {
			time.Sleep(time.Second)
		}
		stats = append(stats, dockerStatsMiB(b, id))
		rss = append(rss, procStatus(b, pid, "VmRSS"))
	}
	b.Logf("docker stats samples (MiB): %v; VmRSS samples (MiB): %v", stats, rss)
	slices.Sort(stats)
	slices.Sort(rss)
	b.ReportMetric(stats[len(stats)/2], "MiB-docker-stats")
	b.ReportMetric(rss[len(rss)/2], "MiB-rss")
	b.ReportMetric(procStatus(b, pid, "VmHWM"), "MiB-hwm")
	b.ReportMetric(issued.Seconds(), "s-all-issued")
}

// dockerOut runs the docker CLI and returns its trimmed output.
func dockerOut(b *testing.B, args ...string) string {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).Output()
	if err != nil {
		b.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// dockerStatsMiB is a container's memory usage as `docker stats` shows it,
// in MiB.
func dockerStatsMiB(b *testing.B, id string) float64 {
	b.Helper()
	var row struct{ MemUsage string }
	if err := json.Unmarshal([]byte(dockerOut(b, "stats", "--no-stream", "--format", "{{json .}}", id)), &row); err != nil {
		b.Fatal(err)
	}
	v, err := parseMemSize(row.MemUsage)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// parseMemSize reads the usage part of docker stats' MemUsage ("11.5MiB /
// 23.4GiB") in MiB.
func parseMemSize(s string) (float64, error) {
	usage, _, _ := strings.Cut(s, "/")
	usage = strings.TrimSpace(usage)
	for _, u := range []struct {
		suffix string
		mib    float64
	}{{"GiB", 1024}, {"MiB", 1}, {"KiB", 1.0 / 1024}, {"kB", 1000.0 / (1 << 20)}, {"MB", 1e6 / (1 << 20)}, {"GB", 1e9 / (1 << 20)}, {"B", 1.0 / (1 << 20)}} {
		if num, ok := strings.CutSuffix(usage, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("docker stats memory %q: %w", s, err)
			}
			return v * u.mib, nil
		}
	}
	return 0, fmt.Errorf("docker stats memory %q: unknown unit", s)
}

func TestParseMemSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  bool
	}{
		{"11.5MiB / 23.4GiB", 11.5, false},
		{"512KiB / 1GiB", 0.5, false},
		{"1.5GiB / 2GiB", 1536, false},
		{"2048B / 1GiB", 2048.0 / (1 << 20), false},
		{"many / 1GiB", 0, true},
		{"12 parsecs", 0, true},
	} {
		got, err := parseMemSize(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseMemSize(%q) = %v, %v; want %v (error: %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}
