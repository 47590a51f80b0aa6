package app_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
)

// certbotPropagation is the smallest wait certbot's dns-rfc2136 plugin
// accepts (--dns-rfc2136-propagation-seconds takes any integer ≥ 0; its
// default is 60). bind9 applies an update before answering it, so Pebble
// finds the record without any wait.
const certbotPropagation = "0"

// BenchmarkCertbotTimeToCertificate obtains the certificates of
// BenchmarkTimeToCertificate with Debian's certbot and its dns-rfc2136
// plugin on the same kind of Pebble + bind9 pair (ECDSA P-256 keys,
// propagation wait 0 s), one `certbot certonly` per certificate, the 20
// certificates one after another (certbot holds a lock on its directories,
// so runs cannot overlap). It reports the median and p90 in seconds, to
// be set beside certdock's by scripts/bench. The ~0.1 s that testenv
// spends per run checking that the plugin is importable is measured and
// subtracted (reported as s-check).
func BenchmarkCertbotTimeToCertificate(b *testing.B) {
	testenv.RequireCertbot(b)
	w := newBenchWorld(b, "example.com")
	configDir := b.TempDir()
	extra := []string{"--dns-rfc2136-propagation-seconds", certbotPropagation}
	obtain := func(domains ...string) {
		testenv.RunCertbotArgs(b, w.pebble, w.bind, configDir, extra, domains...)
	}
	obtain("warmup.example.com") // account registration
	var checks []time.Duration
	for range 5 {
		start := time.Now()
		testenv.RequireCertbot(b)
		checks = append(checks, time.Since(start))
	}
	slices.Sort(checks)
	check := checks[len(checks)/2]

	cases := []struct {
		name  string
		certs func(i int) [][]string
	}{
		{"single", func(i int) [][]string { return [][]string{{fmt.Sprintf("cs%d.example.com", i)}} }},
		{"san-pair", func(i int) [][]string {
			return [][]string{{fmt.Sprintf("ca%d.example.com", i), fmt.Sprintf("cb%d.example.com", i)}}
		}},
		{"wildcard+apex", func(i int) [][]string {
			return [][]string{{fmt.Sprintf("*.cw%d.example.com", i), fmt.Sprintf("cw%d.example.com", i)}}
		}},
		{"20-certs", func(i int) [][]string {
			var certs [][]string
			for k := range 20 {
				certs = append(certs, []string{fmt.Sprintf("ct%d-%d.example.com", i, k)})
			}
			return certs
		}},
	}
	n := 0
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				n++
				certs := tc.certs(n)
				start := time.Now()
				for _, domains := range certs {
					obtain(domains...)
				}
				times = append(times, time.Since(start)-time.Duration(len(certs))*check)
				for _, domains := range certs {
					name := strings.TrimPrefix(domains[0], "*.")
					if _, err := os.Stat(filepath.Join(configDir, "live", name, "fullchain.pem")); err != nil {
						b.Fatalf("certbot wrote no lineage %s: %v", name, err)
					}
				}
			}
			slices.Sort(times)
			b.ReportMetric(times[len(times)/2].Seconds(), "s-p50")
			b.ReportMetric(times[len(times)*9/10].Seconds(), "s-p90")
			b.ReportMetric(check.Seconds(), "s-check")
		})
	}
}
