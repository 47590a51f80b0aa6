package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
)

func FuzzParseDomains(f *testing.F) {
	for _, seed := range []string{
		"smtp.example.com\nimap.example.com pop.example.com\nldap.example.com\n*.example.com example.com\n",
		"web.example.com autocmd-containers=my-apache:apachectl graceful\n",
		"smtp.example.com imap.example.com autorestart-containers=container1,container2\n",
		"a.example.com autocmd-containers=c1:cmd1,c2:cmd2 a b,c3:cmd3 x autorestart-containers=d # note\n",
		"# comment\n\n\t*.example.com test.example.com\r\nexample.com\n*.example.com\n",
		"autorestart-containers=x\nk=v\nBÜCHER.example a..b\n",
		"\uFEFFa.example.com\x00\n",
		strings.Join(manyNames(cert.MaxNames+1), " ") + "\n" + strings.Join(manyNames(cert.MaxNames), "\t") + "\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		specs, problems := ParseDomains("domains.conf", strings.NewReader(in))
		lines := bytes.Count([]byte(in), []byte("\n")) + 1
		names := map[string]bool{}
		for _, s := range specs {
			if len(s.Domains) == 0 || len(s.Domains) > cert.MaxNames {
				t.Fatalf("spec %q has %d domains, want 1 to %d", s.Name, len(s.Domains), cert.MaxNames)
			}
			if err := cert.ValidName(s.Name); err != nil {
				t.Fatalf("spec %+v: %v", s, err)
			}
			if s.Name != cert.LineageName(s.Domains[0]) {
				t.Fatalf("spec %+v: name is not the lineage name of its first domain", s)
			}
			if names[s.Name] {
				t.Fatalf("name %q returned twice", s.Name)
			}
			names[s.Name] = true
			seen := map[string]bool{}
			for _, d := range s.Domains {
				if n, err := cert.NormalizeDomain(d); err != nil || n != d {
					t.Fatalf("spec %q: domain %q is not normalised (%q, %v)", s.Name, d, n, err)
				}
				if seen[d] {
					t.Fatalf("spec %q lists %q twice", s.Name, d)
				}
				seen[d] = true
			}
			if s.Source.Kind != cert.FromFile || s.Source.Line < 1 || s.Source.Line > lines {
				t.Fatalf("spec %q: bad source %+v", s.Name, s.Source)
			}
			for _, a := range s.Actions {
				if a.Target == "" || (a.Kind == cert.Exec) != (len(a.Command) > 0) {
					t.Fatalf("spec %q: bad action %+v", s.Name, a)
				}
			}
		}
		for _, p := range problems {
			var le *LineError
			if !errors.As(p, &le) {
				t.Fatalf("problem %v (%T) is not a *LineError", p, p)
			}
			if le.Line < 1 || le.Line > lines {
				t.Fatalf("problem %v: line %d out of range 1..%d", p, le.Line, lines)
			}
			if !strings.HasPrefix(p.Error(), "domains.conf:") {
				t.Fatalf("problem %q does not name the file", p)
			}
		}
	})
}
