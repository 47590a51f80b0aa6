package statuspage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/certstatus"
)

const evil = `<script>document.title="pwned"</script>`

var now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func fixture() ([]certstatus.Row, []error) {
	nb, na := now.Add(-30*24*time.Hour), now.Add(60*24*time.Hour)
	days := 60
	next := now.Add(time.Hour)
	return []certstatus.Row{
			{Name: "web.example.com", Domains: []string{"web.example.com", "www.example.com"}, Source: "workload " + evil,
				Targets: []string{"exec " + evil + " in container web"}, NotBefore: &nb, NotAfter: &na, DaysLeft: &days,
				State: certstatus.StateOK, Reason: "valid", Next: "renew at 2027-01-04 12:00 UTC (renewal window)",
				Deliveries: []certstatus.Delivery{{Service: "api", Version: 2, Error: "update rolled back"}}},
			{Name: "mail.example.com", Source: "/etc/letsencrypt/domains.conf:2", State: certstatus.StateMissing,
				Reason: "certificate missing", Next: "backing off until …", Failures: 3, NextAttempt: &next, LastError: "DNS update refused: " + evil},
		}, []error{
			errors.New("container x: label certdock.signal=" + evil + ": unknown signal"),
		}
}

func serve(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	h := Handler(func(context.Context) ([]certstatus.Row, []error) { return fixture() }, Options{Now: func() time.Time { return now }, Refresh: 7 * time.Second})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func TestPageEscapesAndShowsEverything(t *testing.T) {
	res, body := serve(t, "/")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if strings.Contains(body, "<script") {
		t.Errorf("a value was rendered as markup:\n%s", body)
	}
	if n := strings.Count(body, "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;"); n != 4 {
		t.Errorf("the escaped value appears %d times, want 4 (source, target, error, problem)", n)
	}
	for _, want := range []string{
		`<meta http-equiv="refresh" content="7">`,
		"web.example.com", "www.example.com", "secrets to service api: v2; FAILING: update rolled back",
		"renew at 2027-01-04 12:00 UTC (renewal window)", "reason: valid",
		`value="66"`, "60 of 90 days left", "2027-02-03 12:00 UTC",
		"/etc/letsencrypt/domains.conf:2", "3 failed in a row; next attempt 2026-12-05 13:00 UTC",
		"certdock: 2 certificates, 1 need attention",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	for _, asset := range []string{"http://", "https://", "src="} {
		if strings.Contains(body, asset) {
			t.Errorf("page refers to an asset (%q)", asset)
		}
	}
}

// /api/status is byte for byte what `certdock status --json` prints for
// the same rows.
func TestAPIStatusIsStatusJSON(t *testing.T) {
	res, body := serve(t, "/api/status")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/status: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	rows, _ := fixture()
	var want bytes.Buffer
	if err := certstatus.WriteJSON(&want, rows); err != nil {
		t.Fatal(err)
	}
	if body != want.String() {
		t.Errorf("GET /api/status:\n%s\nwant:\n%s", body, want.String())
	}
}

func TestOtherPathsAndMethods(t *testing.T) {
	if res, _ := serve(t, "/nope"); res.StatusCode != http.StatusNotFound {
		t.Errorf("/nope: %d", res.StatusCode)
	}
	h := Handler(func(context.Context) ([]certstatus.Row, []error) { return nil, nil }, Options{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !strings.Contains(rec.Body.String(), "No certificate is wanted or on disk.") {
		t.Errorf("empty page:\n%s", rec.Body.String())
	}
}

func TestLifeLeft(t *testing.T) {
	nb := now.Add(-80 * 24 * time.Hour)
	tests := []struct {
		name      string
		notBefore *time.Time
		notAfter  time.Time
		pct       int
		text      string
	}{
		{"a third left", &nb, now.Add(40 * 24 * time.Hour), 33, "40 of 120 days left"},
		{"hours left", &nb, now.Add(10 * time.Hour), 0, "10 hours of 80 days left"},
		{"expired", &nb, now.Add(-time.Hour), 0, "expired 2026-12-05 11:00 UTC"},
		{"no start", nil, now.Add(72 * time.Hour), 100, "3 days left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pct, text := lifeLeft(tt.notBefore, tt.notAfter, now)
			if pct != tt.pct || text != tt.text {
				t.Errorf("lifeLeft = %d %q, want %d %q", pct, text, tt.pct, tt.text)
			}
		})
	}
}

func TestStateClass(t *testing.T) {
	for _, tt := range []struct {
		r    certstatus.Row
		want string
	}{
		{certstatus.Row{State: certstatus.StateOK}, "ok"},
		{certstatus.Row{State: certstatus.StateDue}, "due"},
		{certstatus.Row{State: certstatus.StateOK, Failures: 1}, "bad"},
		{certstatus.Row{State: certstatus.StateExpired}, "bad"},
		{certstatus.Row{State: certstatus.StateMissing}, "bad"},
	} {
		if got := stateClass(tt.r); got != tt.want {
			t.Errorf("%+v: %s, want %s", tt.r, got, tt.want)
		}
	}
}
