package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/store"
)

func TestStatusShowsFailures(t *testing.T) {
	dir := cleanEnv(t)
	writeDomains(t, dir, "failing.example.com\nfresh.example.com\n")
	st := store.New(dir, store.Options{})
	state := store.NewState()
	next := time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)
	*state.Lineage("failing.example.com") = store.LineageState{Failures: 2, NextAttempt: next, LastError: "issue: CA unreachable"}
	if err := st.SaveState(state); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, "status")
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	var failing, fresh string
	for _, line := range strings.Split(r.stdout, "\n") {
		switch {
		case strings.HasPrefix(line, "failing.example.com"):
			failing = line
		case strings.HasPrefix(line, "fresh.example.com"):
			fresh = line
		}
	}
	if !strings.Contains(failing, "FAILING (2 in a row, next attempt 2026-11-22 14:00:00): issue: CA unreachable") {
		t.Errorf("failing line: %q", failing)
	}
	if !strings.Contains(fresh, "missing (will be issued)") || strings.Contains(fresh, "FAILING") {
		t.Errorf("fresh line: %q", fresh)
	}
}

func TestStatusJSON(t *testing.T) {
	dir := cleanEnv(t)
	writeDomains(t, dir, "a.example.com autorestart-containers=web\n")
	r := runCmd(t, "status", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	var rows []statusRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if len(rows) != 1 || rows[0].Name != "a.example.com" || !strings.HasSuffix(rows[0].Source, "domains.conf:1") ||
		len(rows[0].Targets) != 1 || rows[0].State != "missing (will be issued)" {
		t.Fatalf("rows %+v", rows)
	}
}

// A certificate only labels want is shown with the workload and targets
// the daemon recorded, even while it is not on disk.
func TestStatusShowsLabelWorkloads(t *testing.T) {
	dir := cleanEnv(t)
	st := store.New(dir, store.Options{})
	state := store.NewState()
	*state.Lineage("web.example.com") = store.LineageState{
		Owned: true, Origin: "label", Source: "workload web-1", Targets: []string{"signal SIGHUP to web-1"},
		Failures: 1, LastError: "issue: DNS update refused",
	}
	if err := st.SaveState(state); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, "status", "--json")
	var rows []statusRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if len(rows) != 1 || rows[0].Source != "workload web-1" || len(rows[0].Targets) != 1 ||
		rows[0].Targets[0] != "signal SIGHUP to web-1" || rows[0].LastError == "" {
		t.Fatalf("rows %+v", rows)
	}
}

// Each service a certificate is delivered to as Swarm secrets is shown
// with the version it holds, as the daemon last recorded it (status does
// not contact Docker), in the table and in JSON.
func TestStatusShowsDeliveredVersions(t *testing.T) {
	dir := cleanEnv(t)
	st := store.New(dir, store.Options{})
	state := store.NewState()
	since := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	*state.Lineage("web.example.com") = store.LineageState{
		Owned: true, Origin: "label", Source: "service web",
		Deliveries: []store.DeliveryState{
			{Service: "api", Version: 2, Error: "update rollback_completed: task failed", Since: since},
			{Service: "web", Version: 3, Since: since},
		},
	}
	if err := st.SaveState(state); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, "status")
	for _, want := range []string{"secrets to service api: v2; FAILING: update rollback_completed: task failed", "secrets to service web: v3"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runCmd(t, "status", "--json")
	var rows []statusRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if len(rows) != 1 || len(rows[0].Deliveries) != 2 || rows[0].Deliveries[1] != (deliveryRow{Service: "web", Version: 3, Since: since}) ||
		rows[0].Deliveries[0].Error == "" {
		t.Fatalf("rows %+v", rows)
	}
}
