package app_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkTimeToCertificate measures, at shipped defaults, how long one
// pass takes from "certificate missing" to the new version on disk, on
// real Pebble + bind9 (lego's RFC 2136 provider). Each iteration asks for
// fresh names, so nothing is reused. It reports the median and p90 in
// seconds per pass; scripts/bench prints them next to the floor in
// ARCHITECTURE.md.
func BenchmarkTimeToCertificate(b *testing.B) {
	cases := []struct {
		name  string
		lines func(i int) string
	}{
		{"single", func(i int) string { return fmt.Sprintf("s%d.example.com\n", i) }},
		{"san-pair", func(i int) string { return fmt.Sprintf("a%d.example.com b%d.example.com\n", i, i) }},
		{"wildcard+apex", func(i int) string { return fmt.Sprintf("*.w%d.example.com w%d.example.com\n", i, i) }},
		{"20-certs", func(i int) string {
			var sb strings.Builder
			for k := range 20 {
				fmt.Fprintf(&sb, "t%d-%d.example.com\n", i, k)
			}
			return sb.String()
		}},
	}
	w := newBenchWorld(b)
	a := w.build(b)
	ctx := context.Background()
	w.writeDomains(b, "warmup.example.com\n") // account registration, connections
	if err := a.Controller.RunOnce(ctx).Err(); err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				n++
				b.StopTimer()
				w.writeDomains(b, tc.lines(n))
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
