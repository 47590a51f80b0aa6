package ops

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// render writes m and checks the exposition.
func render(t *testing.T, m *Metrics) (string, exposition) {
	t.Helper()
	var b bytes.Buffer
	n, err := m.WriteTo(&b)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(b.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, b.Len())
	}
	return b.String(), parseExposition(t, b.String())
}

var (
	notAfter = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	renewAt  = time.Date(2027, 1, 30, 8, 30, 0, 0, time.UTC)
)

func busyMetrics() *Metrics {
	m := NewMetrics("v1.2.3")
	m.now = func() time.Time { return time.Date(2026, 12, 5, 9, 0, 0, 500e6, time.UTC) }
	m.SetSources(func() map[string]int { return map[string]int{"a.example": 3, "gone.example": 1} }, func() bool { return false })
	m.SetCheckInterval(time.Hour)
	m.SetCertificate("b.example", notAfter, renewAt, true)
	m.SetCertificate("a.example", notAfter.Add(time.Hour), renewAt.Add(time.Hour), false)
	m.SetCertificate("new.example", time.Time{}, time.Time{}, false)
	m.ObserveIssuance(ResultSuccess, 300*time.Millisecond)
	m.ObserveIssuance(ResultSuccess, 4*time.Second)
	m.ObserveIssuance(ResultFailure, 90*time.Second)
	m.ObserveAction("restart", "success")
	m.ObserveAction("exec", "failure")
	m.ObserveAction("restart", "failure")
	m.ObserveAction("restart", "success")
	m.ObserveReconcile(3 * time.Millisecond)
	m.ObserveReconcile(40 * time.Millisecond)
	m.ObserveDockerEvent("service", "update")
	m.ObserveDockerEvent("container", "start")
	m.ObserveDockerEvent("container", "destroy")
	m.SetDelivery("b.example", "web", 3, false)
	m.SetDelivery("b.example", "api", 2, true)
	return m
}

func TestMetricsExposition(t *testing.T) {
	text, x := render(t, busyMetrics())

	want := []string{
		"certdock_actions_total",
		"certdock_build_info",
		"certdock_certificate_expiration_timestamp_seconds",
		"certdock_certificate_failures",
		"certdock_certificate_ready_status",
		"certdock_certificate_renewal_timestamp_seconds",
		"certdock_check_interval_seconds",
		"certdock_delivery_failing",
		"certdock_delivery_version",
		"certdock_docker_connected",
		"certdock_docker_events_total",
		"certdock_issuance_duration_seconds",
		"certdock_issuance_total",
		"certdock_reconcile_duration_seconds",
		"certdock_reconcile_last_completion_timestamp_seconds",
	}
	if !slices.Equal(x.families, want) {
		t.Errorf("families:\n got %q\nwant %q (sorted)", x.families, want)
	}
	types := map[string]string{
		"certdock_actions_total":              "counter",
		"certdock_docker_events_total":        "counter",
		"certdock_issuance_total":             "counter",
		"certdock_issuance_duration_seconds":  "histogram",
		"certdock_reconcile_duration_seconds": "histogram",
		"certdock_build_info":                 "gauge",
		"certdock_certificate_ready_status":   "gauge",
	}
	for name, typ := range types {
		if x.types[name] != typ {
			t.Errorf("TYPE %s = %q, want %q", name, x.types[name], typ)
		}
	}

	// Exact lines, as a scraper sees them.
	lines := []string{
		`# TYPE certdock_issuance_total counter`,
		`certdock_build_info{goversion="` + runtime.Version() + `",version="v1.2.3"} 1`,
		`certdock_certificate_expiration_timestamp_seconds{name="b.example"} 1803902400`,
		`certdock_certificate_renewal_timestamp_seconds{name="b.example"} 1801297800`,
		`certdock_certificate_ready_status{name="b.example",condition="False"} 0`,
		`certdock_certificate_ready_status{name="b.example",condition="True"} 1`,
		`certdock_certificate_ready_status{name="new.example",condition="False"} 1`,
		`certdock_certificate_ready_status{name="new.example",condition="True"} 0`,
		`certdock_issuance_total{result="failure"} 1`,
		`certdock_certificate_failures{name="a.example"} 3`,
		`certdock_certificate_failures{name="b.example"} 0`,
		`certdock_certificate_failures{name="new.example"} 0`,
		`certdock_docker_connected 0`,
		`certdock_check_interval_seconds 3600`,
		`certdock_reconcile_last_completion_timestamp_seconds 1.7964612005e+09`,
		`certdock_delivery_version{name="b.example",service="api"} 2`,
		`certdock_delivery_version{name="b.example",service="web"} 3`,
		`certdock_delivery_failing{name="b.example",service="api"} 1`,
		`certdock_delivery_failing{name="b.example",service="web"} 0`,
		`certdock_issuance_total{result="success"} 2`,
		`certdock_issuance_duration_seconds_bucket{result="success",le="0.25"} 0`,
		`certdock_issuance_duration_seconds_bucket{result="success",le="0.5"} 1`,
		`certdock_issuance_duration_seconds_bucket{result="success",le="5"} 2`,
		`certdock_issuance_duration_seconds_bucket{result="success",le="+Inf"} 2`,
		`certdock_issuance_duration_seconds_sum{result="success"} 4.3`,
		`certdock_issuance_duration_seconds_count{result="success"} 2`,
		`certdock_issuance_duration_seconds_bucket{result="failure",le="60"} 0`,
		`certdock_issuance_duration_seconds_bucket{result="failure",le="120"} 1`,
		`certdock_actions_total{kind="restart",result="success"} 2`,
		`certdock_reconcile_duration_seconds_bucket{le="0.001"} 0`,
		`certdock_reconcile_duration_seconds_bucket{le="0.005"} 1`,
		`certdock_reconcile_duration_seconds_bucket{le="0.05"} 2`,
		`certdock_reconcile_duration_seconds_bucket{le="10"} 2`,
		`certdock_reconcile_duration_seconds_bucket{le="+Inf"} 2`,
		`certdock_reconcile_duration_seconds_count 2`,
		`certdock_docker_events_total{kind="container",action="start"} 1`,
	}
	have := strings.Split(text, "\n")
	for _, l := range lines {
		if !slices.Contains(have, l) {
			t.Errorf("missing line %s", l)
		}
	}

	// A certificate without a version has a ready status but no times.
	for _, name := range []string{"certdock_certificate_expiration_timestamp_seconds", "certdock_certificate_renewal_timestamp_seconds"} {
		if _, ok := x.find(name, map[string]string{"name": "new.example"}); ok {
			t.Errorf("%s reported for a certificate without a version", name)
		}
	}
}

// TestMetricsOrder checks that series come in order of label values,
// whatever the order of the updates.
func TestMetricsOrder(t *testing.T) {
	_, x := render(t, busyMetrics())
	order := func(name string, labels ...string) []string {
		var out []string
		for _, s := range x.series(name) {
			var vs []string
			for _, l := range labels {
				vs = append(vs, s.labels[l])
			}
			out = append(out, strings.Join(vs, "/"))
		}
		return out
	}
	tests := []struct {
		name   string
		labels []string
		want   []string
	}{
		{"certdock_certificate_expiration_timestamp_seconds", []string{"name"}, []string{"a.example", "b.example"}},
		{"certdock_certificate_ready_status", []string{"name", "condition"},
			[]string{"a.example/False", "a.example/True", "b.example/False", "b.example/True", "new.example/False", "new.example/True"}},
		{"certdock_actions_total", []string{"kind", "result"}, []string{"exec/failure", "restart/failure", "restart/success"}},
		{"certdock_docker_events_total", []string{"kind", "action"}, []string{"container/destroy", "container/start", "service/update"}},
		{"certdock_issuance_total", []string{"result"}, []string{"failure", "success"}},
		{"certdock_issuance_duration_seconds_count", []string{"result"}, []string{"failure", "success"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := order(tt.name, tt.labels...); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	// Two renders of the same state are identical.
	m := busyMetrics()
	a, _ := render(t, m)
	b, _ := render(t, m)
	if a != b {
		t.Error("two renders of the same metrics differ")
	}
}

func TestMetricsEmpty(t *testing.T) {
	_, x := render(t, NewMetrics(""))
	for _, r := range []string{ResultSuccess, ResultFailure} {
		if v, ok := x.find("certdock_issuance_total", map[string]string{"result": r}); !ok || v != 0 {
			t.Errorf("issuance_total{result=%q} = %v, %v; want 0 from the start", r, v, ok)
		}
	}
	if v, ok := x.find("certdock_reconcile_duration_seconds_count", map[string]string{}); !ok || v != 0 {
		t.Errorf("reconcile _count = %v, %v; want 0", v, ok)
	}
	for _, name := range []string{"certdock_certificate_ready_status", "certdock_actions_total", "certdock_docker_events_total"} {
		if s := x.series(name); len(s) != 0 {
			t.Errorf("%s has %d series without any update", name, len(s))
		}
		if x.types[name] == "" {
			t.Errorf("%s has no TYPE line", name)
		}
	}
}

func TestCertificateLifecycle(t *testing.T) {
	m := NewMetrics("dev")
	name := map[string]string{"name": "example.org"}
	cond := func(c string) map[string]string { return map[string]string{"name": "example.org", "condition": c} }

	m.SetCertificate("example.org", time.Time{}, time.Time{}, false)
	_, x := render(t, m)
	if v, _ := x.find("certdock_certificate_ready_status", cond("False")); v != 1 {
		t.Errorf("missing certificate: False = %v, want 1", v)
	}

	m.SetCertificate("example.org", notAfter, renewAt, true)
	_, x = render(t, m)
	checks := []struct {
		metric string
		labels map[string]string
		want   float64
	}{
		{"certdock_certificate_expiration_timestamp_seconds", name, float64(notAfter.Unix())},
		{"certdock_certificate_renewal_timestamp_seconds", name, float64(renewAt.Unix())},
		{"certdock_certificate_ready_status", cond("True"), 1},
		{"certdock_certificate_ready_status", cond("False"), 0},
	}
	for _, c := range checks {
		if v, ok := x.find(c.metric, c.labels); !ok || v != c.want {
			t.Errorf("after SetCertificate: %s%v = %v (found %v), want %v", c.metric, c.labels, v, ok, c.want)
		}
	}

	// A renewal moves both times.
	m.SetCertificate("example.org", notAfter.AddDate(0, 3, 0), renewAt.AddDate(0, 3, 0), true)
	_, x = render(t, m)
	if v, _ := x.find("certdock_certificate_expiration_timestamp_seconds", name); v != float64(notAfter.AddDate(0, 3, 0).Unix()) {
		t.Errorf("after renewal: expiration = %v", v)
	}

	m.DeleteCertificate("example.org")
	m.DeleteCertificate("never.example") // no-op
	text, x := render(t, m)
	for _, s := range x.samples {
		if s.labels["name"] == "example.org" {
			t.Errorf("after DeleteCertificate: %s still reported", s.key())
		}
	}
	if strings.Contains(text, "example.org") {
		t.Error("after DeleteCertificate: the name still appears")
	}
}

func TestLabelEscaping(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		escaped string // as written between the quotes
		parsed  string // as a scraper reads it back
	}{
		{"plain", "example.com", `example.com`, "example.com"},
		{"quote", `a"b`, `a\"b`, `a"b`},
		{"backslash", `a\b`, `a\\b`, `a\b`},
		{"newline", "a\nb", `a\nb`, "a\nb"},
		{"backslash n", `a\nb`, `a\\nb`, `a\nb`},
		{"all", "x\\\"\ny", `x\\\"\ny`, "x\\\"\ny"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb", "a\uFFFDb"},
		{"unicode", "bücher.example", "bücher.example", "bücher.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics("dev")
			m.SetCertificate(tt.value, notAfter, renewAt, true)
			m.ObserveDockerEvent("container", tt.value)
			text, x := render(t, m)
			line := `certdock_certificate_expiration_timestamp_seconds{name="` + tt.escaped + `"} 1803902400`
			if !slices.Contains(strings.Split(text, "\n"), line) {
				t.Errorf("want line %s in\n%s", line, text)
			}
			if _, ok := x.find("certdock_certificate_ready_status", map[string]string{"name": tt.parsed, "condition": "True"}); !ok {
				t.Errorf("name %q does not read back as %q", tt.value, tt.parsed)
			}
			if _, ok := x.find("certdock_docker_events_total", map[string]string{"kind": "container", "action": tt.parsed}); !ok {
				t.Errorf("action %q does not read back as %q", tt.value, tt.parsed)
			}
		})
	}
}

func TestHelpEscaping(t *testing.T) {
	var b bytes.Buffer
	expo{&b}.header("x", "gauge", "a\\b\nc")
	if got, want := b.String(), "# HELP x a\\\\b\\nc\n# TYPE x gauge\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestHistogramBuckets(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		le   string // smallest bucket holding it
	}{
		{"zero", 0, "0.1"},
		{"negative counts as zero", -time.Second, "0.1"},
		{"on a bound (inclusive)", 100 * time.Millisecond, "0.1"},
		{"just above a bound", 100*time.Millisecond + time.Nanosecond, "0.25"},
		{"between", 7 * time.Second, "10"},
		{"last bound", 2 * time.Minute, "120"},
		{"beyond the last bound", 3 * time.Minute, "+Inf"},
	}
	les := []string{"0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "120", "+Inf"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics("dev")
			m.ObserveIssuance(ResultSuccess, tt.d)
			_, x := render(t, m)
			var got []string
			for _, s := range x.series("certdock_issuance_duration_seconds_bucket") {
				if s.labels["result"] == ResultSuccess {
					got = append(got, s.labels["le"])
					want := 0.0
					if slices.Index(les, s.labels["le"]) >= slices.Index(les, tt.le) {
						want = 1
					}
					if s.value != want {
						t.Errorf("le=%s: %v, want %v", s.labels["le"], s.value, want)
					}
				}
			}
			if !slices.Equal(got, les) {
				t.Errorf("buckets %q, want %q", got, les)
			}
			sum, _ := x.find("certdock_issuance_duration_seconds_sum", map[string]string{"result": ResultSuccess})
			if want := max(tt.d, 0).Seconds(); sum != want {
				t.Errorf("_sum = %v, want %v", sum, want)
			}
		})
	}
}

func TestReconcileBuckets(t *testing.T) {
	m := NewMetrics("dev")
	_, x := render(t, m)
	var got []string
	for _, s := range x.series("certdock_reconcile_duration_seconds_bucket") {
		got = append(got, s.labels["le"])
	}
	want := []string{"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}
	if !slices.Equal(got, want) {
		t.Errorf("buckets %q, want %q", got, want)
	}
}

// TestMetricsConcurrent updates and renders from many goroutines; run it
// with -race.
func TestMetricsConcurrent(t *testing.T) {
	const workers, rounds = 8, 200
	m := NewMetrics("dev")
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				name := fmt.Sprintf("c%d.example", (w+i)%5)
				m.SetCertificate(name, notAfter, renewAt, i%2 == 0)
				if i%7 == 0 {
					m.DeleteCertificate(name)
				}
				m.ObserveIssuance(ResultSuccess, time.Duration(i)*time.Millisecond)
				m.ObserveIssuance(ResultFailure, time.Second)
				m.ObserveAction("restart", "success")
				m.ObserveReconcile(time.Millisecond)
				m.ObserveDockerEvent("container", "start")
			}
		})
		wg.Go(func() {
			for range rounds / 10 {
				var b bytes.Buffer
				m.WriteTo(&b)
			}
		})
	}
	wg.Wait()
	_, x := render(t, m)
	const total = workers * rounds
	checks := []struct {
		metric string
		labels map[string]string
	}{
		{"certdock_issuance_total", map[string]string{"result": ResultSuccess}},
		{"certdock_issuance_total", map[string]string{"result": ResultFailure}},
		{"certdock_issuance_duration_seconds_count", map[string]string{"result": ResultFailure}},
		{"certdock_actions_total", map[string]string{"kind": "restart", "result": "success"}},
		{"certdock_reconcile_duration_seconds_count", map[string]string{}},
		{"certdock_docker_events_total", map[string]string{"kind": "container", "action": "start"}},
	}
	for _, c := range checks {
		if v, _ := x.find(c.metric, c.labels); v != total {
			t.Errorf("%s%v = %v, want %d", c.metric, c.labels, v, total)
		}
	}
}

func TestNilDiscards(t *testing.T) {
	var m *Metrics
	m.SetCertificate("a", notAfter, renewAt, true)
	m.DeleteCertificate("a")
	m.ObserveIssuance(ResultSuccess, time.Second)
	m.ObserveAction("restart", "success")
	m.ObserveReconcile(time.Second)
	m.ObserveDockerEvent("container", "start")
	var h *Health
	h.SetReady()
	h.SetCheck("store", nil)
	h.SetProbe("docker", nil)
}
