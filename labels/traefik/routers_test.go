package traefik

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func certsText(cs []Cert) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s [%s] %s", c.Router, c.Label, strings.Join(c.Domains, ",")))
	}
	return strings.Join(out, "\n")
}

func TestCertificates(t *testing.T) {
	tests := []struct {
		name     string
		labels   map[string]string
		want     string
		problems []string
	}{
		{
			name: "certresolver with a v3 rule",
			labels: map[string]string{
				"traefik.enable":                                     "true",
				"traefik.http.routers.web.rule":                      "Host(`web.example.com`) || Host(`www.example.com`)",
				"traefik.http.routers.web.tls.certresolver":          "le",
				"traefik.http.routers.web.entrypoints":               "websecure",
				"traefik.http.services.web.loadbalancer.server.port": "80",
			},
			want: "http router web [traefik.http.routers.web.rule] web.example.com,www.example.com",
		},
		{
			name: "tls=true with a v2 rule",
			labels: map[string]string{
				"traefik.http.routers.app.rule": "Host(`a.example.com`,`b.example.com`) && PathPrefix(`/`)",
				"traefik.http.routers.app.tls":  "true",
			},
			want: "http router app [traefik.http.routers.app.rule] a.example.com,b.example.com",
		},
		{
			name: "tls.domains win over the rule",
			labels: map[string]string{
				"traefik.http.routers.w.rule":                "Host(`x.example.com`)",
				"traefik.http.routers.w.tls.domains[1].main": "example.org",
				"traefik.http.routers.w.tls.domains[0].main": "example.com",
				"traefik.http.routers.w.tls.domains[0].sans": "*.example.com, x.example.com",
			},
			want: "http router w [traefik.http.routers.w.tls.domains[0].main] example.com,*.example.com,x.example.com\n" +
				"http router w [traefik.http.routers.w.tls.domains[1].main] example.org",
		},
		{
			name: "tcp router HostSNI",
			labels: map[string]string{
				"traefik.tcp.routers.pg.rule":             "HostSNI(`db.example.com`)",
				"traefik.tcp.routers.pg.tls.certresolver": "le",
				"traefik.tcp.routers.any.rule":            "HostSNI(`*`)",
				"traefik.tcp.routers.any.tls":             "true",
			},
			want: "tcp router pg [traefik.tcp.routers.pg.rule] db.example.com",
		},
		{
			name: "routers without tls, regexp, default rule: nothing",
			labels: map[string]string{
				"traefik.http.routers.plain.rule":              "Host(`plain.example.com`)",
				"traefik.http.routers.off.rule":                "Host(`off.example.com`)",
				"traefik.http.routers.off.tls":                 "false",
				"traefik.http.routers.re.rule":                 "HostRegexp(`.+`)",
				"traefik.http.routers.re.tls":                  "true",
				"traefik.http.routers.norule.tls.certresolver": "le",
			},
		},
		{
			name: "traefik.enable=false",
			labels: map[string]string{
				"traefik.enable":              "false",
				"traefik.http.routers.x.rule": "Host(`x.example.com`)",
				"traefik.http.routers.x.tls":  "true",
			},
		},
		{
			name: "a bad rule skips only its router",
			labels: map[string]string{
				"traefik.http.routers.bad.rule":              "Host(`x.example.com`",
				"traefik.http.routers.bad.tls":               "true",
				"traefik.http.routers.good.rule":             "Host(`good.example.com`)",
				"traefik.http.routers.good.tls":              "true",
				"traefik.http.routers.t.rule":                "Host(`t.example.com`)",
				"traefik.http.routers.t.tls":                 "yes please",
				"traefik.http.routers.s.tls.domains[0].sans": "a.example.com",
			},
			want: "http router good [traefik.http.routers.good.rule] good.example.com",
			problems: []string{
				"label traefik.http.routers.bad.rule: rule: at character 21: expected , or ) in Host(...) but found end of rule",
				"label traefik.http.routers.s.tls.domains[0].main: missing: every tls.domains entry needs a main name",
				`label traefik.http.routers.t.tls: "yes please" is not true or false`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, problems := Certificates(tt.labels)
			if got := certsText(certs); got != tt.want {
				t.Errorf("certificates:\n%s\nwant:\n%s", got, tt.want)
			}
			var got []string
			for _, p := range problems {
				var le *LabelError
				if !errors.As(p, &le) {
					t.Errorf("problem %v is not a *LabelError", p)
				}
				got = append(got, p.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.problems, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.problems, "\n"))
			}
		})
	}
}
