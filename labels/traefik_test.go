package labels

import (
	"fmt"
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
)

func specsText(specs []cert.Spec) string {
	var out []string
	for _, s := range specs {
		line := s.Name + " " + strings.Join(s.Domains, ",")
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
