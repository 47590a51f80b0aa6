package certstatus

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/controller"
)

func TestRows(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	lin := func(notAfter time.Time) *cert.Lineage {
		return &cert.Lineage{Name: "a", Domains: []string{"a.example.com"}, NotBefore: notAfter.Add(-90 * 24 * time.Hour), NotAfter: notAfter}
	}
	spec := &cert.Spec{Name: "a", Source: cert.Source{Kind: cert.FromFile, File: "domains.conf", Line: 3},
		Actions: []cert.Action{{Kind: cert.Restart, Target: "web"}}}
	tests := []struct {
		name   string
		cs     controller.CertStatus
		state  string
		bad    bool
		source string
		check  func(t *testing.T, r Row)
	}{
		{name: "missing", cs: controller.CertStatus{Name: "a", Spec: spec, LoadErr: fs.ErrNotExist}, state: StateMissing, source: "domains.conf:3",
			check: func(t *testing.T, r Row) {
				if len(r.Targets) != 1 || r.NotAfter != nil || r.DaysLeft != nil {
					t.Errorf("row %+v", r)
				}
			}},
		{name: "broken", cs: controller.CertStatus{Name: "a", LoadErr: errors.New("cert.pem: truncated")}, state: StateBroken + "cert.pem: truncated", bad: true, source: "on disk only"},
		{name: "ok", cs: controller.CertStatus{Name: "a", Spec: spec, Lineage: lin(now.Add(60 * 24 * time.Hour)),
			Decision: controller.Decision{Reason: controller.ReasonValid, RenewAt: now.Add(30 * 24 * time.Hour)}, Next: "renew at …", NextAt: now.Add(30 * 24 * time.Hour)},
			state: StateOK, source: "domains.conf:3",
			check: func(t *testing.T, r Row) {
				if *r.DaysLeft != 60 || r.RenewalDue == nil || r.NextAt == nil || r.NotBefore == nil || r.Reason != "valid" || r.Next != "renew at …" {
					t.Errorf("row %+v", r)
				}
			}},
		{name: "due", cs: controller.CertStatus{Name: "a", Spec: spec, Lineage: lin(now.Add(20 * 24 * time.Hour)), Decision: controller.Decision{Reason: controller.ReasonRenewalWindow}}, state: StateDue, source: "domains.conf:3"},
		{name: "expired", cs: controller.CertStatus{Name: "a", Spec: spec, Lineage: lin(now.Add(-time.Hour)), Decision: controller.Decision{Reason: controller.ReasonExpired}}, state: StateExpired, source: "domains.conf:3"},
		{name: "label certificate known from the state, failing, delivered", cs: controller.CertStatus{Name: "a", LoadErr: fs.ErrNotExist,
			Record: controller.Record{Origin: cert.FromLabel, Source: "workload web-1", Targets: []string{"signal SIGHUP to web-1"},
				Failures: 2, NextAttempt: now.Add(time.Hour), LastError: "DNS refused",
				Deliveries: []controller.DeliveryRecord{{Service: "web", Version: 3, Since: now}}}},
			state: StateMissing, source: "workload web-1",
			check: func(t *testing.T, r Row) {
				if r.Failures != 2 || r.LastError != "DNS refused" || !r.NextAttempt.Equal(now.Add(time.Hour)) || len(r.Targets) != 1 ||
					len(r.Deliveries) != 1 || r.Deliveries[0].String() != "secrets to service web: v3" {
					t.Errorf("row %+v", r)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, bad := Rows([]controller.CertStatus{tt.cs}, now)
			if len(rows) != 1 || bad != tt.bad || rows[0].State != tt.state || rows[0].Source != tt.source {
				t.Fatalf("rows %+v bad %v; want state %q source %q bad %v", rows, bad, tt.state, tt.source, tt.bad)
			}
			if tt.check != nil {
				tt.check(t, rows[0])
			}
		})
	}
}

func TestDeliveryString(t *testing.T) {
	for _, tt := range []struct {
		d    Delivery
		want string
	}{
		{Delivery{Service: "web", Version: 3}, "secrets to service web: v3"},
		{Delivery{Service: "web"}, "secrets to service web: none"},
		{Delivery{Service: "web", Version: 2, Error: "rolled back"}, "secrets to service web: v2; FAILING: rolled back"},
	} {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.d, got, tt.want)
		}
	}
}

// WriteJSON prints an indented array, [] when empty, with the field
// names scripts rely on.
func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, nil); err != nil || b.String() != "[]\n" {
		t.Fatalf("empty: %q %v", b.String(), err)
	}
	b.Reset()
	na := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := WriteJSON(&b, []Row{{Name: "a", State: StateOK, NotAfter: &na, Next: "renew"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "[\n  {\n    \"name\": \"a\"") {
		t.Errorf("not indented: %s", b.String())
	}
	var back []map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back[0]["not_after"] != "2027-01-01T00:00:00Z" || back[0]["state"] != "ok" {
		t.Errorf("JSON %s: %v", b.String(), err)
	}
}
