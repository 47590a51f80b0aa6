package suggest

import (
	"reflect"
	"testing"
)

func TestClosest(t *testing.T) {
	providers := []string{"cloudflare", "route53", "ovh", "gandi", "gandiv5", "digitalocean", "dnsimple", "dnsupdate", "rfc2136", "hetzner", "exec", "httpreq", "namecheap", "ns1"}
	tests := []struct {
		name  string
		in    string
		known []string
		n     int
		want  []string
	}{
		{name: "one typo", in: "cloudfare", known: providers, n: 3, want: []string{"cloudflare"}},
		{name: "case-insensitive", in: "CloudFlair", known: providers, n: 3, want: []string{"cloudflare"}},
		{name: "prefix", in: "route", known: providers, n: 3, want: []string{"route53"}},
		{name: "longer than known", in: "digitalocean-dns", known: providers, n: 3, want: []string{"digitalocean"}},
		{name: "ordered by distance then name", in: "gandi5", known: providers, n: 3, want: []string{"gandi", "gandiv5"}},
		{name: "limit n", in: "gandi5", known: providers, n: 1, want: []string{"gandi"}},
		{name: "nothing close", in: "powerdns", known: providers, n: 3, want: nil},
		{name: "short name needs a close match", in: "ov", known: providers, n: 3, want: []string{"ovh"}},
		{name: "one letter matches nothing", in: "x", known: providers, n: 3, want: nil},
		{name: "exact match first", in: "ovh", known: []string{"ovhcloud", "ovh"}, n: 2, want: []string{"ovh", "ovhcloud"}},
		{name: "empty", in: "", known: providers, n: 3, want: nil},
		{name: "n zero", in: "cloudfare", known: providers, n: 0, want: nil},
		{name: "duplicates in known", in: "ovhh", known: []string{"ovh", "ovh"}, n: 3, want: []string{"ovh"}},
		{name: "unicode counts runes", in: "clöudflare", known: providers, n: 3, want: []string{"cloudflare"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Closest(tt.in, tt.known, tt.n); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Closest(%q, …, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"flaw", "lawn", 2},
		{"ü", "u", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
