package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
)

// shortenedRules is deploy/prometheus/alerts.yml with every `for:`
// shortened to d, so a test sees in seconds what takes minutes; the
// expressions (thresholds) are the shipped ones.
func shortenedRules(t *testing.T, d string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^(\s+for:) \S+$`)
	if n := len(re.FindAll(b, -1)); n < 5 {
		t.Fatalf("alerts.yml has %d `for:` lines, want one per rule", n)
	}
	path := filepath.Join(t.TempDir(), "alerts.yml")
	if err := os.WriteFile(path, re.ReplaceAll(b, []byte("$1 "+d)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A real Prometheus scrapes a real certdock daemon (Pebble + bind9) with
// the shipped alert rules: a certificate the CA says to renew two days ago
// (ARI), whose renewals keep failing (the DNS provider's TSIG secret is
// wrong), raises CertdockCertificateRenewalOverdue and
// CertdockIssuanceFailing for it; its healthy neighbour raises nothing.
func TestPrometheusAlertsOnAnUnrenewedCertificate(t *testing.T) {
	w := newWorld(t, "example.com")
	w.writeDomains(t, "stuck.example.com\nfine.example.com\n")
	if err := w.build(t).Controller.RunOnce(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	first := w.build(t)
	if res := first.Controller.RunOnce(context.Background()); len(res.Issued) != 0 { // records the CA's ARI answers
		t.Fatalf("fresh certificates renewed: %v", res.Issued)
	}
	lin, err := first.Store.Load("stuck.example.com")
	if err != nil {
		t.Fatal(err)
	}
	// The CA's window closed two days ago: renewal is overdue and urgent.
	now := time.Now()
	setARI(t, w.pebble, lin.Leaf, now.Add(-72*time.Hour), now.Add(-48*time.Hour))
	st, err := first.Store.LoadState()
	if err != nil || st.Lineages["stuck.example.com"] == nil || st.Lineages["stuck.example.com"].ARI == nil {
		t.Fatalf("the ARI answer was not recorded: %v", err)
	}
	st.Lineages["stuck.example.com"].ARI.NextFetch = now.Add(-time.Minute) // ask the CA again
	if err := first.Store.SaveState(st); err != nil {
		t.Fatal(err)
	}
	// Renewals now fail: bind refuses the provider's updates.
	t.Setenv("DNSUPDATE_TSIG_SECRET", "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldCB3cm9uZyBzZWNyZXQ=")

	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	w.env["CERTDOCK_LISTEN"] = addr
	a := w.build(t)
	serve(t, a)
	prom := testenv.StartPrometheus(t, testenv.PrometheusOptions{
		Targets:   []string{addr},
		RuleFiles: []string{shortenedRules(t, "3s")},
		Interval:  time.Second,
	})

	want := map[string]bool{"CertdockCertificateRenewalOverdue": false, "CertdockIssuanceFailing": false}
	var last []testenv.Alert
	deadline := time.Now().Add(90 * time.Second)
	for done := false; !done; {
		if time.Now().After(deadline) {
			t.Fatalf("alerts %v did not fire within 90 s (targets up: %v); alerts: %+v", want, prom.Up(t), last)
		}
		time.Sleep(time.Second)
		last = prom.Alerts(t)
		done = true
		for name := range want {
			want[name] = false
			for _, al := range last {
				if al.Labels["alertname"] == name && al.State == "firing" && al.Labels["name"] == "stuck.example.com" {
					want[name] = true
				}
			}
			done = done && want[name]
		}
	}
	for _, al := range last {
		if al.Labels["name"] == "fine.example.com" {
			t.Errorf("an alert for the healthy certificate: %+v", al)
		}
		if al.Labels["alertname"] == "CertdockNoRecentPass" || al.Labels["alertname"] == "CertdockCertificateExpiringSoon" {
			t.Errorf("unexpected alert: %+v", al)
		}
	}
	if v := version(a, "stuck.example.com"); v != 1 {
		t.Errorf("stuck.example.com was renewed (version %d): the fault did not hold", v)
	}
	t.Logf("alerts: %+v", last)
}
