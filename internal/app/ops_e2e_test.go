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
	w.writeDomains(t, "metrics.example.com\n")
	a := w.build(t)
	serve(t, a)
	base := "http://" + addr
	eventually(t, 20*time.Second, "healthy after the first pass", func() bool {
		code, _ := get(t, base+"/healthz")
		return code == http.StatusOK
	})
	eventually(t, 20*time.Second, "certificate metrics", func() bool {
		_, body := get(t, base+"/metrics")
		return strings.Contains(body, `certdock_certificate_expiration_timestamp_seconds{name="metrics.example.com"}`)
	})
	_, body := get(t, base+"/metrics")
	for _, want := range []string{
		`certdock_certificate_renewal_timestamp_seconds{name="metrics.example.com"}`,
		`certdock_certificate_ready_status{name="metrics.example.com",condition="True"} 1`,
		`certdock_issuance_total{result="success"} 1`,
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
