package app_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
)

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestHealthAndMetricsEndpoint(t *testing.T) {
	w := newWorld(t, "example.com")
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	w.env["CERTDOCK_LISTEN"] = addr
	w.writeDomains(t, "metrics.example.com\nsan.example.com www.san.example.com\n")
	a := w.build(t)
	serve(t, a)
	base := "http://" + addr
	// Ready means the first pass is complete: polled closely, the first
	// 200 must already find both certificates on disk and in /metrics
	// (a compose depends_on: service_healthy starts consumers then).
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, _ := get(t, base+"/healthz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not healthy within 20 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, body := get(t, base+"/metrics")
	for _, name := range []string{"metrics.example.com", "san.example.com"} {
		if version(a, name) < 1 {
			t.Errorf("/healthz answered 200 before %s was on disk", name)
		}
		if want := `certdock_certificate_expiration_timestamp_seconds{name="` + name + `"}`; !strings.Contains(body, want) {
			t.Errorf("/healthz answered 200 before %s was in /metrics", name)
		}
	}
	for _, want := range []string{
		`certdock_certificate_renewal_timestamp_seconds{name="metrics.example.com"}`,
		`certdock_certificate_ready_status{name="metrics.example.com",condition="True"} 1`,
		`certdock_issuance_total{result="success"} 2`,
		`certdock_reconcile_duration_seconds_count`,
		`certdock_build_info`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s\n%s", want, body)
		}
	}
	if code, _ := get(t, base+"/nope"); code != http.StatusNotFound {
		t.Errorf("unknown path answered %d", code)
	}
}
