package traefik

import (
	"slices"
	"strings"
	"testing"
)

func TestRuleHosts(t *testing.T) {
	tests := []struct {
		name, rule, matcher string
		want                []string
		wantErr             string
	}{
		{name: "v3 single host", rule: "Host(`example.com`)", matcher: "Host", want: []string{"example.com"}},
		{name: "v2 several hosts", rule: "Host(`a.example.com`, `b.example.com`)", matcher: "Host", want: []string{"a.example.com", "b.example.com"}},
		{name: "v3 or", rule: "Host(`a.example.com`) || Host(`b.example.com`)", matcher: "Host", want: []string{"a.example.com", "b.example.com"}},
		{name: "and path", rule: "Host(`api.example.com`) && PathPrefix(`/v1`)", matcher: "Host", want: []string{"api.example.com"}},
		{name: "grouped", rule: "(Host(`a.example.com`) || Host(`b.example.com`)) && (PathPrefix(`/x`) || Path(`/y`))", matcher: "Host", want: []string{"a.example.com", "b.example.com"}},
		{name: "double quotes", rule: `Host("q.example.com")`, matcher: "Host", want: []string{"q.example.com"}},
		{name: "negated host left out", rule: "PathPrefix(`/`) && !Host(`internal.example.com`) || Host(`pub.example.com`)", matcher: "Host", want: []string{"pub.example.com"}},
		{name: "double negation", rule: "!!Host(`n.example.com`)", matcher: "Host", want: []string{"n.example.com"}},
		{name: "regexp ignored", rule: "HostRegexp(`^.+\\.example\\.com$`)", matcher: "Host", want: nil},
		{name: "regexp next to host", rule: "HostRegexp(`{sub:[a-z]+}.example.com`) || Host(`h.example.com`)", matcher: "Host", want: []string{"h.example.com"}},
		{name: "duplicates once", rule: "Host(`d.example.com`) || Host(`D.example.com`)", matcher: "Host", want: []string{"d.example.com"}},
		{name: "tcp sni", rule: "HostSNI(`db.example.com`)", matcher: "HostSNI", want: []string{"db.example.com"}},
		{name: "host is not sni", rule: "Host(`web.example.com`)", matcher: "HostSNI", want: nil},
		{name: "header with commas in args", rule: "Host(`h.example.com`) && Header(`X-A`, `a,b`)", matcher: "Host", want: []string{"h.example.com"}},
		{name: "empty", rule: "  ", matcher: "Host", wantErr: "empty rule"},
		{name: "unclosed paren", rule: "Host(`a.example.com`", matcher: "Host", wantErr: "expected , or ) in Host(...) but found end of rule"},
		{name: "unterminated string", rule: "Host(`a.example.com)", matcher: "Host", wantErr: "unterminated string"},
		{name: "bare word", rule: "Host(example.com)", matcher: "Host", wantErr: `at character 6: expected a quoted string in Host(...) but found "example"`},
		{name: "dangling or", rule: "Host(`a.example.com`) ||", matcher: "Host", wantErr: "expected a matcher"},
		{name: "single pipe", rule: "Host(`a.example.com`) | Host(`b.example.com`)", matcher: "Host", wantErr: "unexpected character '|'"},
		{name: "trailing junk", rule: "Host(`a.example.com`) Host(`b.example.com`)", matcher: "Host", wantErr: `unexpected "Host"`},
		{name: "host without args", rule: "Host()", matcher: "Host", wantErr: "Host() names no host"},
		{name: "deep nesting", rule: strings.Repeat("(", 100) + "Host(`a.b`)" + strings.Repeat(")", 100), matcher: "Host", wantErr: "nested more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RuleHosts(tt.rule, tt.matcher)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("RuleHosts(%q) = %v, %v; want error containing %q", tt.rule, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("RuleHosts(%q) = %q, %v; want %q", tt.rule, got, err, tt.want)
			}
		})
	}
}

// FuzzRuleHosts: any rule either parses or fails with a "rule"/"empty"
// error; a parsed rule gives names that appear quoted in the rule, each
// once; and the names of a rule rebuilt from them as Host(`x`) || … are
// the same (the parser reads back what it returned).
func FuzzRuleHosts(f *testing.F) {
	for _, s := range []string{
		"Host(`example.com`)",
		"Host(`a.example.com`, `b.example.com`)",
		"Host(`a`) || Host(`b`) && !Host(`c`)",
		"(Host(`a`) || PathPrefix(`/x`)) && Method(`GET`)",
		"HostSNI(`*`)",
		"HostRegexp(`{x:.+}`)",
		`Host("dq.example.com")`,
		"Host(`a`",
		"!(",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rule string) {
		hosts, err := RuleHosts(rule, "Host")
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "rule") && msg != "empty rule" {
				t.Fatalf("error %q has no rule prefix", msg)
			}
			return
		}
		for i, h := range hosts {
			if !strings.Contains(rule, "`"+h+"`") && !strings.Contains(rule, `"`+h+`"`) {
				t.Fatalf("host %q is not quoted in %q", h, rule)
			}
			if containsFold(hosts[:i], h) {
				t.Fatalf("host %q returned twice", h)
			}
		}
		if len(hosts) == 0 {
			return
		}
		var parts []string
		for _, h := range hosts {
			if strings.Contains(h, "`") {
				return
			}
			parts = append(parts, "Host(`"+h+"`)")
		}
		again, err := RuleHosts(strings.Join(parts, " || "), "Host")
		if err != nil || !slices.Equal(again, hosts) {
			t.Fatalf("rebuilt rule gives %q, %v; want %q", again, err, hosts)
		}
	})
}
