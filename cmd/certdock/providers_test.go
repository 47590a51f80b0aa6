package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/providers/dns"
)

// unrecognized is the start of the error lego's
// NewDNSChallengeProviderByName returns for a name it does not know.
const unrecognized = "unrecognized DNS provider"

// providerOutcome is what one call of NewDNSChallengeProviderByName did.
type providerOutcome struct {
	err      error
	panicked any
	timedOut bool
}

// constructProvider calls lego's constructor for name in a goroutine,
// turning a panic into an outcome and giving up after timeout (the
// goroutine is then left behind). lego's unknown-name branch returns at
// once, so a constructor that panics or hangs was recognised.
func constructProvider(name string, timeout time.Duration) providerOutcome {
	done := make(chan providerOutcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- providerOutcome{panicked: p}
			}
		}()
		_, err := dns.NewDNSChallengeProviderByName(name)
		done <- providerOutcome{err: err}
	}()
	select {
	case o := <-done:
		return o
	case <-time.After(timeout):
		return providerOutcome{timedOut: true}
	}
}

func TestProviderNamesInSync(t *testing.T) {
	// Keep constructors away from the developer's own cloud configuration
	// files (~/.aws, ~/.oci, ...).
	t.Setenv("HOME", t.TempDir())

	for _, want := range []string{"rfc2136", "dnsupdate", "cloudflare", "route53", "exec"} {
		if !slices.Contains(providerNames, want) {
			t.Errorf("providerNames lacks %q", want)
		}
	}
	if !slices.IsSorted(providerNames) {
		t.Error("providerNames is not sorted")
	}
	if c := slices.Compact(slices.Clone(providerNames)); len(c) != len(providerNames) {
		t.Errorf("providerNames has %d duplicate entries", len(providerNames)-len(c))
	}

	const bogus = "certdock-no-such-provider"
	if slices.Contains(providerNames, bogus) {
		t.Fatalf("providerNames contains %q", bogus)
	}
	if o := constructProvider(bogus, 5*time.Second); o.err == nil || !strings.Contains(o.err.Error(), unrecognized) {
		t.Fatalf("lego on %q: %+v; want an %q error (has lego's message changed? then this test checks nothing)", bogus, o, unrecognized)
	}

	var odd, built []string
	for _, name := range providerNames {
		t.Run(name, func(t *testing.T) {
			o := constructProvider(name, 5*time.Second)
			switch {
			case o.timedOut:
				odd = append(odd, name+": constructor still running after 5s")
			case o.panicked != nil:
				odd = append(odd, fmt.Sprintf("%s: constructor panicked: %v", name, o.panicked))
			case o.err == nil:
				built = append(built, name)
			case strings.Contains(o.err.Error(), unrecognized):
				t.Errorf("lego does not know %q: %v (regenerate providers_gen.go with go generate)", name, o.err)
			}
		})
	}
	t.Logf("%d provider names checked; built without any credentials: %v", len(providerNames), built)
	if len(odd) > 0 {
		t.Logf("recognised by lego but odd without credentials:\n  %s", strings.Join(odd, "\n  "))
	}
}

func TestUnknownProvider(t *testing.T) {
	tests := []struct {
		name     string
		envVar   string
		value    string
		wantNear string
	}{
		{name: "DNS_PROVIDER typo", envVar: "DNS_PROVIDER", value: "cloudflar", wantNear: "cloudflare"},
		{name: "LEXICON_PROVIDER typo", envVar: "LEXICON_PROVIDER", value: "route35", wantNear: "route53"},
		{name: "upper case typo", envVar: "DNS_PROVIDER", value: "CloudFlar", wantNear: "cloudflare"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv(tt.envVar, tt.value)
			r := runCmd(t, "check")
			if r.code == 0 {
				t.Errorf("exit code 0, want non-zero")
			}
			var errLine string
			for line := range strings.Lines(r.all()) {
				if strings.Contains(line, "unknown DNS provider") {
					errLine = line
					break
				}
			}
			if errLine == "" {
				t.Fatal("no \"unknown DNS provider\" message")
			}
			wantStart := fmt.Sprintf("%s: unknown DNS provider %q", tt.envVar, strings.ToLower(tt.value))
			if !strings.Contains(errLine, wantStart) {
				t.Errorf("message %q does not contain %q", errLine, wantStart)
			}
			_, near, ok := strings.Cut(errLine, "did you mean ")
			near, _, _ = strings.Cut(near, "?")
			if !ok || !slices.Contains(strings.Split(near, ", "), tt.wantNear) {
				t.Errorf("message %q does not suggest %q", errLine, tt.wantNear)
			}
		})
	}
}
