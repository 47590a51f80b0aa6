package labels

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
)

func specsText(specs []cert.Spec) string {
	var out []string
	for _, s := range specs {
		line := s.Name + " " + strings.Join(s.Domains, ",")
		if s.DNSProfile != "" {
			line += " @" + s.DNSProfile
		}
		for _, a := range s.Actions {
			line += " | " + a.String()
		}
		for _, d := range s.Deliveries {
			line += " | " + string(d.Kind) + " " + d.Dir
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func TestParseTraefik(t *testing.T) {
	allowed, err := ParseAllowlist("*.example.com,example.com")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		w        Workload
		traefik  bool
		want     string
		problems []string
	}{
		{
			name: "off by default",
			w: Workload{Kind: Container, Name: "web", Labels: map[string]string{
				"traefik.http.routers.web.rule": "Host(`web.example.com`)", "traefik.http.routers.web.tls": "true"}},
			want: "",
		},
		{
			name:    "router alone",
			traefik: true,
			w: Workload{Kind: Container, Name: "web", Labels: map[string]string{
				"traefik.http.routers.web.rule": "Host(`Web.Example.com`) || Host(`www.example.com`)", "traefik.http.routers.web.tls.certresolver": "le"}},
			want: "web.example.com web.example.com,www.example.com",
		},
		{
			name:    "certdock's action applies to the router's certificate",
			traefik: true,
			w: Workload{Kind: Container, Name: "web", Labels: map[string]string{
				"traefik.http.routers.web.rule": "Host(`web.example.com`)", "traefik.http.routers.web.tls": "true",
				"certdock.signal": "SIGHUP"}},
			want: "web.example.com web.example.com | signal web: SIGHUP",
		},
		{
			name:    "service: force-update and secrets",
			traefik: true,
			w: Workload{Kind: Service, Name: "api", Labels: map[string]string{
				"traefik.http.routers.api.rule": "Host(`api.example.com`)", "traefik.http.routers.api.tls": "true",
				"certdock.restart": "true", "certdock.secrets": "true"}},
			want: "api.example.com api.example.com | force-update service api | secrets api.example.com",
		},
		{
			name:    "certdock.domains and a router with the same lineage: certdock's wins",
			traefik: true,
			w: Workload{Kind: Container, Name: "web", Labels: map[string]string{
				"traefik.http.routers.web.rule": "Host(`web.example.com`)", "traefik.http.routers.web.tls": "true",
				"traefik.http.routers.two.rule": "Host(`two.example.com`)", "traefik.http.routers.two.tls": "true",
				"certdock.domains": "web.example.com,alt.example.com"}},
			want: "web.example.com web.example.com,alt.example.com\ntwo.example.com two.example.com",
		},
		{
			name:    "certdock.profile applies to the routers' certificates",
			traefik: true,
			w: Workload{Kind: Container, Name: "web", Labels: map[string]string{
				"traefik.http.routers.web.rule": "Host(`web.example.com`)", "traefik.http.routers.web.tls": "true",
				"certdock.profile": "Corp"}},
			want: "web.example.com web.example.com @corp",
		},
		{
			name: "certdock.profile without any certificate",
			w: Workload{Kind: Container, Name: "web", Labels: map[string]string{
				"traefik.http.routers.web.rule": "Host(`web.example.com`)", "traefik.http.routers.web.tls": "true",
				"certdock.profile": "corp"}},
			problems: []string{"container web: label certdock.profile: no certificate of this workload to solve: add certdock.domains (or Traefik TLS routers with CERTDOCK_TRAEFIK_LABELS)"},
		},
		{
			name:    "allowed domains apply",
			traefik: true,
			w: Workload{Kind: Container, Name: "evil", Labels: map[string]string{
				"traefik.http.routers.a.rule": "Host(`bank.example.net`)", "traefik.http.routers.a.tls": "true",
				"traefik.http.routers.b.rule": "Host(`ok.example.com`)", "traefik.http.routers.b.tls": "true"}},
			want:     "ok.example.com ok.example.com",
			problems: []string{"container evil: label traefik.http.routers.a.rule: bank.example.net is not allowed by CERTDOCK_ALLOWED_DOMAINS (*.example.com,example.com)"},
		},
		{
			name:    "bad rule names container and label; the rest is served",
			traefik: true,
			w: Workload{Kind: Container, Name: "web", Labels: map[string]string{
				"traefik.http.routers.bad.rule": "Host(`x.example.com`) ||", "traefik.http.routers.bad.tls": "true",
				"traefik.http.routers.ok.rule": "Host(`ok.example.com`)", "traefik.http.routers.ok.tls": "true"}},
			want:     "ok.example.com ok.example.com",
			problems: []string{"container web: label traefik.http.routers.bad.rule: rule: at character 25: expected a matcher such as Host(`example.com`) but found end of rule"},
		},
		{
			name:    "two routers, one lineage, different names",
			traefik: true,
			w: Workload{Kind: Container, Name: "web", Labels: map[string]string{
				"traefik.http.routers.a.rule": "Host(`web.example.com`)", "traefik.http.routers.a.tls": "true",
				"traefik.http.routers.b.rule": "Host(`web.example.com`) || Host(`www.example.com`)", "traefik.http.routers.b.tls": "true",
				"traefik.http.routers.c.rule": "Host(`web.example.com`)", "traefik.http.routers.c.tls": "true"}},
			want:     "web.example.com web.example.com",
			problems: []string{"container web: label traefik.http.routers.b.rule: http router b asks for certificate web.example.com with web.example.com,www.example.com, another router of this workload with web.example.com: give one of them tls.domains"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs, problems := ParseWith("certdock", tt.w, Options{Allowed: allowed, Traefik: tt.traefik})
			if got := specsText(specs); got != tt.want {
				t.Errorf("specs:\n%s\nwant:\n%s", got, tt.want)
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.Error())
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.problems) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.problems, "\n"))
			}
		})
	}
}

// FuzzParseTraefik: whatever a workload's Traefik labels hold, problems
// are *Error values naming the workload, and every certificate has a
// valid lineage name, normalised names allowed by the allowlist, at most
// the CA's limit, and the workload's own action only.
func FuzzParseTraefik(f *testing.F) {
	f.Add("Host(`a.example.com`) || Host(`b.example.com`)", "true", "", "", "HostSNI(`db.example.com`)", "SIGHUP")
	f.Add("Host(`a.example.com`, `x.example.org`)", "", "example.com", "*.example.com, a.example.com", "", "")
	f.Add("Host(`a", "maybe", "", "b.example.com", "HostSNI(`*`)", "")
	f.Fuzz(func(t *testing.T, rule, tls, main, sans, tcpRule, signal string) {
		l := map[string]string{"traefik.http.routers.r.rule": rule, "traefik.http.routers.r.tls": tls,
			"traefik.http.routers.d.tls.domains[0].main": main, "traefik.http.routers.d.tls.domains[0].sans": sans,
			"traefik.tcp.routers.t.rule": tcpRule, "traefik.tcp.routers.t.tls.certresolver": "le", "certdock.signal": signal}
		for k, v := range l {
			if v == "" {
				delete(l, k)
			}
		}
		allowed, err := ParseAllowlist("*.example.com,example.com")
		if err != nil {
			t.Fatal(err)
		}
		specs, problems := ParseWith("certdock", Workload{Kind: Container, Name: "w", Labels: l}, Options{Allowed: allowed, Traefik: true})
		for _, p := range problems {
			var le *Error
			if !errors.As(p, &le) || le.Workload != "container w" {
				t.Fatalf("problem %v (%T) does not name the workload", p, p)
			}
		}
		for _, s := range specs {
			if err := cert.ValidName(s.Name); err != nil {
				t.Fatalf("invalid name %q", s.Name)
			}
			if len(s.Domains) == 0 || len(s.Domains) > cert.MaxNames {
				t.Fatalf("spec %q has %d names", s.Name, len(s.Domains))
			}
			for _, d := range s.Domains {
				if n, err := cert.NormalizeDomain(d); err != nil || n != d || !allowed.Allows(d) {
					t.Fatalf("domain %q not normalised or not allowed", d)
				}
			}
			for _, a := range s.Actions {
				if a.Target != "w" {
					t.Fatalf("action on another workload: %v", a)
				}
			}
		}
	})
}
