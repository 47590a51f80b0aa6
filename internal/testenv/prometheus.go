package testenv

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Promtool returns the path of Debian's promtool, or skips the test naming
// the package (fails it under CI=true).
func Promtool(t testing.TB) string {
	t.Helper()
	return requireBinary(t, "promtool", "prometheus")
}

// PrometheusOptions configure StartPrometheus.
type PrometheusOptions struct {
	// Targets are the host:port addresses scraped (job "certdock",
	// path /metrics).
	Targets []string
	// RuleFiles are loaded as rule_files.
	RuleFiles []string
	// Interval is the scrape and rule evaluation interval (default 1 s).
	Interval time.Duration
}

// Prometheus is a real Prometheus server (Debian's prometheus) listening on
// 127.0.0.1 only, with its storage in a temporary directory; it is stopped
// when the test ends, whether it passed or not.
type Prometheus struct {
	// URL is its base URL, e.g. http://127.0.0.1:PORT.
	URL string
}

// StartPrometheus starts Prometheus with opts and waits until it is ready.
func StartPrometheus(t testing.TB, opts PrometheusOptions) *Prometheus {
	t.Helper()
	RequireE2E(t)
	bin := requireBinary(t, "prometheus", "prometheus")
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(conf, []byte(prometheusConfig(opts)), 0o644); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 5 {
		port := FreePort(t)
		p := &Prometheus{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
		proc, err := startProcess(t, "prometheus", nil, bin,
			"--config.file="+conf,
			"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data-%d", port)),
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
			"--log.level=warn")
		if err != nil {
			unavailable(t, "%v", err)
		}
		if lastErr = p.waitReady(proc); lastErr == nil {
			return p
		}
		proc.stop(t)
		if !addrInUse(proc.out.String()) {
			break
		}
	}
	t.Fatalf("testenv: prometheus did not start: %v", lastErr)
	return nil
}

// prometheusConfig is prometheus.yml for opts.
func prometheusConfig(opts PrometheusOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n", opts.Interval, opts.Interval)
	if len(opts.RuleFiles) > 0 {
		b.WriteString("rule_files:\n")
		for _, f := range opts.RuleFiles {
			fmt.Fprintf(&b, "  - %q\n", f)
		}
	}
	b.WriteString("scrape_configs:\n  - job_name: certdock\n    static_configs:\n      - targets:\n")
	for _, tg := range opts.Targets {
		fmt.Fprintf(&b, "          - %q\n", tg)
	}
	return b.String()
}

// waitReady polls /-/ready for up to 60 s.
func (p *Prometheus) waitReady(proc *process) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if done, err := proc.exited(); done {
			return fmt.Errorf("exited: %v\n%s", err, proc.out.tail(tailLines))
		}
		if resp, err := http.Get(p.URL + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready within 60 s:\n%s", proc.out.tail(tailLines))
}

// Alert is one alert of Prometheus' /api/v1/alerts.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	// State is "pending" or "firing".
	State    string    `json:"state"`
	ActiveAt time.Time `json:"activeAt"`
	Value    string    `json:"value"`
}

// Alerts returns the pending and firing alerts.
func (p *Prometheus) Alerts(t testing.TB) []Alert {
	t.Helper()
	var out struct {
		Status string `json:"status"`
		Data   struct {
			Alerts []Alert `json:"alerts"`
		} `json:"data"`
	}
	p.get(t, "/api/v1/alerts", &out)
	if out.Status != "success" {
		t.Fatalf("testenv: prometheus /api/v1/alerts: status %q", out.Status)
	}
	return out.Data.Alerts
}

// Up reports whether the last scrape of every target succeeded.
func (p *Prometheus) Up(t testing.TB) bool {
	t.Helper()
	var out struct {
		Data struct {
			ActiveTargets []struct {
				Health string `json:"health"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	p.get(t, "/api/v1/targets", &out)
	for _, tg := range out.Data.ActiveTargets {
		if tg.Health != "up" {
			return false
		}
	}
	return len(out.Data.ActiveTargets) > 0
}

// get decodes the JSON at path into v.
func (p *Prometheus) get(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(p.URL + path)
	if err != nil {
		t.Fatalf("testenv: prometheus %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("testenv: prometheus %s: %s\n%s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("testenv: prometheus %s: %v\n%s", path, err, body)
	}
}
