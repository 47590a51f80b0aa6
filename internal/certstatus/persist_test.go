package certstatus

import (
	"slices"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/controller"
)

// TestRowsCarryTheRecordsToCreate: a certificate waiting for its
// dns-persist-01 records shows them, and says it waits for them.
func TestRowsCarryTheRecordsToCreate(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	line := `_validation-persist.a.example.com. IN TXT "ca.example; accounturi=https://ca.example/acct/1"`
	rec := controller.Record{Failures: 2, NextAttempt: now.Add(time.Minute), WaitingRecords: []string{line},
		LastError: "waiting for DNS record: _validation-persist.a.example.com has no dns-persist-01 record for ca.example; create: " + line}
	spec := cert.Spec{Name: "a.example.com", Domains: []string{"a.example.com"}}
	d := controller.Decision{Reason: controller.ReasonMissing, Urgency: controller.UrgencyNow}
	next, at := controller.NextStep(d, rec, "", "", now)
	rows, _ := Rows([]controller.CertStatus{{Name: "a.example.com", Spec: &spec, Record: rec, Decision: d, Next: next, NextAt: at}}, now)
	if len(rows) != 1 || !slices.Equal(rows[0].DNSRecords, []string{line}) {
		t.Fatalf("rows = %+v", rows)
	}
	if want := "waiting for DNS record: _validation-persist.a.example.com has no dns-persist-01 record"; len(rows[0].Next) < len(want) || rows[0].Next[:len(want)] != want {
		t.Errorf("Next = %q", rows[0].Next)
	}
}
