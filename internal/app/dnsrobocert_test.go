package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/certdock/certdock/controller"
)

func TestDnsrobocertSource(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	extras := &certExtras{}
	src := dnsrobocertSource(file, func(string) (string, bool) { return "", false }, slog.New(slog.DiscardHandler), extras)
	names := func() (string, int, bool) {
		specs, problems, complete := src.Desired(context.Background())
		var n []string
		for _, s := range specs {
			n = append(n, s.Name)
		}
		return strings.Join(n, ","), len(problems), complete
	}
	const base = "profiles:\n- {name: p, provider: cloudflare}\ncertificates:\n- {domains: [a.example.com], profile: p, deploy_hook: echo a}\n"

	if got, probs, complete := names(); got != "" || probs != 1 || complete {
		t.Errorf("missing file: %q, %d problems, complete %t", got, probs, complete)
	}
	write(base)
	if got, probs, complete := names(); got != "a.example.com" || probs != 0 || !complete {
		t.Errorf("valid: %q, %d problems, complete %t", got, probs, complete)
	}
	if x, ok := extras.get("a.example.com"); !ok || x.deployHook != "echo a" {
		t.Errorf("extras %+v, %t", x, ok)
	}
	write("draft: true\n" + strings.Replace(base, "a.example.com", "b.example.com", 1))
	if got, probs, complete := names(); got != "a.example.com" || probs != 0 || complete {
		t.Errorf("draft: %q, %d problems, complete %t; want the last applied file, incomplete", got, probs, complete)
	}
	write(base + "bogus: 1\n")
	if got, probs, complete := names(); got != "a.example.com" || probs != 1 || complete {
		t.Errorf("invalid: %q, %d problems, complete %t; want the last applied file, incomplete", got, probs, complete)
	}
	// A problem with a setting serves every certificate: complete.
	write(base + "- {domains: [c.example.com], profile: p, autorestart: [{podman_containers: [x]}]}\n")
	if got, probs, complete := names(); got != "a.example.com,c.example.com" || probs != 1 || !complete {
		t.Errorf("podman_containers: %q, %d problems, complete %t", got, probs, complete)
	}
	// force_renew: forced once per applied file, not per read.
	forcer := src.(controller.Forcer)
	forcer.Forced() // drain what earlier files asked for
	write(base + "- {domains: [c.example.com], profile: p, force_renew: true}\n")
	if got, probs, complete := names(); got != "a.example.com,c.example.com" || probs != 0 || !complete {
		t.Errorf("force_renew: %q, %d problems, complete %t", got, probs, complete)
	}
	names()
	if got := forcer.Forced(); !slices.Equal(got, []string{"c.example.com"}) {
		t.Errorf("Forced after applying a file with force_renew = %v, want [c.example.com]", got)
	}
	names()
	if got := forcer.Forced(); len(got) != 0 {
		t.Errorf("Forced for the same file again = %v, want none", got)
	}
	// A certificate left out: incomplete.
	write(base + "- {domains: ['*.example.org', x.example.org], profile: p}\n")
	if got, probs, complete := names(); got != "a.example.com" || probs != 1 || complete {
		t.Errorf("left out: %q, %d problems, complete %t", got, probs, complete)
	}
}
