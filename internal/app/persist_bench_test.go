package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/providers/dns/dnsupdate"

	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/dnspersist"
	"github.com/certdock/certdock/internal/app"
)

// BenchmarkChallengeTimeToCertificate measures time-to-certificate (one
// pass, certificate missing → new version on disk) with dns-01 (lego's
// RFC 2136 provider writes and removes _acme-challenge records, with the
// propagation check) next to dns-persist-01 (the _validation-persist
// records were created beforehand, as the user does once: the pass only
// looks them up), on the same Pebble + bind9 and the same names. It
// reports the median and p90 in seconds per pass; scripts/bench prints
// them side by side.
func BenchmarkChallengeTimeToCertificate(b *testing.B) {
	cases := []struct {
		name    string
		domains func(i int) []string
	}{
		{"single", func(i int) []string { return []string{fmt.Sprintf("s%d.example.com", i)} }},
		{"san-pair", func(i int) []string {
			return []string{fmt.Sprintf("a%d.example.com", i), fmt.Sprintf("b%d.example.com", i)}
		}},
		{"wildcard+apex", func(i int) []string {
			return []string{fmt.Sprintf("*.w%d.example.com", i), fmt.Sprintf("w%d.example.com", i)}
		}},
	}
	w := newBenchWorld(b)
	ctx := context.Background()
	build := func(env map[string]string, provider bool) *app.App {
		cfg, err := config.FromEnv(func(k string) string { return env[k] })
		if err != nil {
			b.Fatal(err)
		}
		var opts app.Options
		if provider {
			opts.Provider = func(string) (challenge.Provider, error) {
				p, err := dnsupdate.NewDNSProvider()
				if err != nil {
					return nil, err
				}
				return p, nil
			}
		}
		a, err := app.Build(cfg, slog.New(slog.DiscardHandler), opts)
		if err != nil {
			b.Fatal(err)
		}
		return a
	}
	penv := maps.Clone(w.env)
	delete(penv, "DNS_PROVIDER")
	penv["CERTDOCK_CHALLENGE"] = "dns-persist-01"
	penv["CERTDOCK_DIR"] = b.TempDir()
	apps := map[string]*app.App{"dns-01": build(w.env, true), "dns-persist-01": build(penv, false)}
	write := func(env map[string]string, domains ...string) {
		w.dir = env["CERTDOCK_DIR"]
		w.writeDomains(b, strings.Join(domains, " ")+"\n") // one certificate
	}
	// Warm up both (account registration, connections).
	write(w.env, "warmup.example.com")
	if err := apps["dns-01"].Controller.RunOnce(ctx).Err(); err != nil {
		b.Fatal(err)
	}
	write(penv, "warmup.example.com")
	apps["dns-persist-01"].Controller.RunOnce(ctx) // registers the account; waits for the record
	acct, err := apps["dns-persist-01"].Issuer.SavedAccountURL()
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, ch := range []string{"dns-01", "dns-persist-01"} {
		a, env := apps[ch], w.env
		if ch == "dns-persist-01" {
			env = penv
		}
		for _, tc := range cases {
			b.Run(ch+"/"+tc.name, func(b *testing.B) {
				var times []time.Duration
				for b.Loop() {
					n++
					b.StopTimer()
					domains := tc.domains(n)
					write(env, domains...)
					if ch == "dns-persist-01" {
						w.bind.NSUpdate(b, persistLines(domains, acct)...)
					}
					b.StartTimer()
					start := time.Now()
					res := a.Controller.RunOnce(ctx)
					times = append(times, time.Since(start))
					if err := res.Err(); err != nil || len(res.Issued) == 0 {
						b.Fatalf("pass: issued %v, err %v", res.Issued, err)
					}
				}
				slices.Sort(times)
				b.ReportMetric(times[len(times)/2].Seconds(), "s-p50")
				b.ReportMetric(times[len(times)*9/10].Seconds(), "s-p90")
			})
		}
	}
}

// persistLines are the records the user creates once for domains.
func persistLines(domains []string, acct string) []string {
	var out []string
	for _, w := range dnspersist.Wants(domains, "pebble.letsencrypt.org", acct, time.Time{}) {
		out = append(out, w.ZoneLine())
	}
	return out
}
