package dnsprofile

import (
	"errors"
	"strings"
	"testing"
)

func testSet(t *testing.T) *Set {
	t.Helper()
	s, problems := NewSet([]Profile{
		{Name: "corp", Provider: "rfc2136", Zones: []string{"example.com"}, Origin: "CERTDOCK_PROFILE_CORP_*"},
		{Name: "lab", Provider: "rfc2136", Zones: []string{"lab.example.com", "example.org"}, Origin: "CERTDOCK_PROFILE_LAB_*"},
	})
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	return s
}

func TestRoute(t *testing.T) {
	s := testSet(t)
	tests := []struct {
		name    string
		domains []string
		want    string
		wantErr string
	}{
		{name: "apex of a zone", domains: []string{"example.com"}, want: "corp"},
		{name: "name below a zone", domains: []string{"www.example.com", "mail.example.com"}, want: "corp"},
		{name: "longest suffix wins", domains: []string{"a.lab.example.com"}, want: "lab"},
		{name: "nested zone apex", domains: []string{"lab.example.com"}, want: "lab"},
		{name: "wildcard counts as its base", domains: []string{"*.lab.example.com", "lab.example.com"}, want: "lab"},
		{name: "wildcard of the zone", domains: []string{"*.example.org"}, want: "lab"},
		{name: "no zone: default", domains: []string{"other.net"}, want: ""},
		{name: "suffix without a dot boundary is not a match", domains: []string{"notexample.com"}, want: ""},
		{name: "span two profiles", domains: []string{"www.example.com", "x.lab.example.com"},
			wantErr: "names fall to different DNS profiles (www.example.com → profile corp (zone example.com), x.lab.example.com → profile lab (zone lab.example.com))"},
		{name: "span a profile and the default", domains: []string{"other.net", "example.org"},
			wantErr: "other.net → the default provider, example.org → profile lab (zone example.org)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Route(tt.domains)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Route(%v) = %q, %v; want error containing %q", tt.domains, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Route(%v) = %q, %v; want %q", tt.domains, got, err, tt.want)
			}
		})
	}
}

func TestRouteWithoutProfiles(t *testing.T) {
	var s *Set
	if got, err := s.Route([]string{"a.example.com"}); got != "" || err != nil {
		t.Fatalf("nil set: %q, %v", got, err)
	}
	if err := s.Check("x"); !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "none is configured") {
		t.Fatalf("nil set Check: %v", err)
	}
}

func TestNewSetProblems(t *testing.T) {
	s, problems := NewSet([]Profile{
		{Name: "a", Zones: []string{"example.com", "shared.net"}, Origin: "CERTDOCK_PROFILE_A_*"},
		{Name: "b", Zones: []string{"shared.net"}, Origin: "CERTDOCK_PROFILE_B_*"},
		{Name: "a", Zones: []string{"dup.net"}, Origin: "config.yml:9"},
		{Name: "default", Zones: []string{"d.net"}, Origin: "config.yml:12"},
	})
	var text []string
	for _, p := range problems {
		text = append(text, p.Error())
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{
		`config.yml:9: profile "a" is already declared by CERTDOCK_PROFILE_A_*`,
		`config.yml:12: the profile name "default" is reserved`,
		"zone shared.net is declared by the DNS profiles a and b",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
	if len(problems) != 3 {
		t.Errorf("%d problems, want 3:\n%s", len(problems), all)
	}
	// The overlapping zone routes nothing; the others still work.
	var oe *OverlapError
	if _, err := s.Route([]string{"x.shared.net"}); !errors.As(err, &oe) || oe.Zone != "shared.net" {
		t.Errorf("overlapping zone routed: %v", err)
	}
	if got, err := s.Route([]string{"www.example.com"}); got != "a" || err != nil {
		t.Errorf("good zone: %q, %v", got, err)
	}
	if _, ok := s.Get("a"); !ok || s.Len() != 2 || strings.Join(s.Names(), ",") != "a,b" {
		t.Errorf("names %v", s.Names())
	}
	if p, _ := s.Get("a"); p.Origin != "CERTDOCK_PROFILE_A_*" {
		t.Errorf("duplicate replaced the first declaration: %+v", p)
	}
}

func TestCheck(t *testing.T) {
	s := testSet(t)
	if err := s.Check("lab"); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(""); err != nil {
		t.Fatal(err)
	}
	err := s.Check("labs")
	if !errors.Is(err, ErrUnknown) || err.Error() != `unknown DNS profile "labs" (known: corp, lab)` {
		t.Fatalf("Check(labs) = %v", err)
	}
}

func TestMasked(t *testing.T) {
	p := Profile{Vars: map[string]string{
		"DNSUPDATE_TSIG_SECRET":         "c2VjcmV0",
		"DNSUPDATE_NAMESERVER":          "127.0.0.1:53",
		"CLOUDFLARE_DNS_API_TOKEN_FILE": "/run/secrets/cf",
		"DNSUPDATE_TSIG_KEY":            "k1.",
	}}
	got := p.Masked()
	want := [][2]string{
		{"CLOUDFLARE_DNS_API_TOKEN_FILE", "/run/secrets/cf"},
		{"DNSUPDATE_NAMESERVER", "127.0.0.1:53"},
		{"DNSUPDATE_TSIG_KEY", "*** (3 characters)"},
		{"DNSUPDATE_TSIG_SECRET", "*** (8 characters)"},
	}
	if len(got) != len(want) {
		t.Fatalf("Masked = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Masked[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if p.SequenceIntervalSet() {
		t.Error("no sequence interval set")
	}
	p.Vars["DNSUPDATE_SEQUENCE_INTERVAL"] = "5"
	if !p.SequenceIntervalSet() {
		t.Error("sequence interval set")
	}
}
