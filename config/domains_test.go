package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
)

// want is the expected result for one line of a domains.conf.
type want struct {
	line    int
	domains []string
	actions []cert.Action
}

func restart(name string) cert.Action { return cert.Action{Kind: cert.Restart, Target: name} }

func exec(name string, argv ...string) cert.Action {
	return cert.Action{Kind: cert.Exec, Target: name, Command: argv}
}

func TestParseDomains(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     []want
		problems []string // messages in order; a trailing "*" matches any rest (cert's wording)
	}{
		{
			name: "seed README example",
			in:   "smtp.example.com\nimap.example.com pop.example.com\nldap.example.com\n*.example.com example.com\n",
			want: []want{
				{line: 1, domains: []string{"smtp.example.com"}},
				{line: 2, domains: []string{"imap.example.com", "pop.example.com"}},
				{line: 3, domains: []string{"ldap.example.com"}},
				{line: 4, domains: []string{"*.example.com", "example.com"}},
			},
		},
		{
			name: "seed autorestart example",
			in:   "smtp.example.com imap.example.com autorestart-containers=smtp\nauth.example.com\n",
			want: []want{
				{line: 1, domains: []string{"smtp.example.com", "imap.example.com"}, actions: []cert.Action{restart("smtp")}},
				{line: 2, domains: []string{"auth.example.com"}},
			},
		},
		{
			name: "seed autorestart with two containers",
			in:   "example.com autorestart-containers=container1,container2",
			want: []want{{line: 1, domains: []string{"example.com"}, actions: []cert.Action{restart("container1"), restart("container2")}}},
		},
		{
			name: "seed autocmd example",
			in:   "web.example.com autocmd-containers=my-apache:apachectl graceful\n",
			want: []want{{line: 1, domains: []string{"web.example.com"}, actions: []cert.Action{exec("my-apache", "apachectl", "graceful")}}},
		},
		{
			name: "seed autocmd grammar with three entries",
			in:   "a.example.com autocmd-containers=container1:command1,container2:command2 arg2a arg2b,container3:command3 arg3a",
			want: []want{{line: 1, domains: []string{"a.example.com"}, actions: []cert.Action{
				exec("container1", "command1"),
				exec("container2", "command2", "arg2a", "arg2b"),
				exec("container3", "command3", "arg3a"),
			}}},
		},
		{
			name: "autocmd then autorestart",
			in:   "a.example.com autocmd-containers=web:nginx -s reload autorestart-containers=db,cache",
			want: []want{{line: 1, domains: []string{"a.example.com"}, actions: []cert.Action{
				exec("web", "nginx", "-s", "reload"), restart("db"), restart("cache"),
			}}},
		},
		{
			name: "autorestart then autocmd",
			in:   "a.example.com autorestart-containers=db autocmd-containers=web:nginx -s reload",
			want: []want{{line: 1, domains: []string{"a.example.com"}, actions: []cert.Action{
				restart("db"), exec("web", "nginx", "-s", "reload"),
			}}},
		},
		{
			name: "autocmd keeps key=value arguments and spaces around entries",
			in:   "a.example.com autocmd-containers= web : kill  --signal=HUP 1 ,  db:reload",
			want: []want{{line: 1, domains: []string{"a.example.com"}, actions: []cert.Action{
				exec("web", "kill", "--signal=HUP", "1"), exec("db", "reload"),
			}}},
		},
		{
			name: "command keeps later colons",
			in:   "a.example.com autocmd-containers=web:curl http://localhost:8080/reload",
			want: []want{{line: 1, domains: []string{"a.example.com"}, actions: []cert.Action{exec("web", "curl", "http://localhost:8080/reload")}}},
		},
		{
			name: "duplicate restart targets collapse",
			in:   "a.example.com autorestart-containers=x,y,x",
			want: []want{{line: 1, domains: []string{"a.example.com"}, actions: []cert.Action{restart("x"), restart("y")}}},
		},
		{
			name: "comments blank lines tabs and CRLF",
			in:   "# certificates\r\n\r\n   \t\n\ta.example.com\tb.example.com   # the a cert\r\n  # indented comment\nc.example.com#not-a-comment.example.com\n",
			want: []want{{line: 4, domains: []string{"a.example.com", "b.example.com"}}},
			problems: []string{
				`domains.conf:6: "c.example.com#not-a-comment.example.com": *`,
			},
		},
		{
			name: "comment cuts autocmd",
			in:   "a.example.com autocmd-containers=web:nginx -s reload # reload nginx",
			want: []want{{line: 1, domains: []string{"a.example.com"}, actions: []cert.Action{exec("web", "nginx", "-s", "reload")}}},
		},
		{
			name: "normalisation and silent duplicates",
			in:   "WWW.Example.COM. www.example.com example.com BÜCHER.example www.example.com\n",
			want: []want{{line: 1, domains: []string{"www.example.com", "example.com", "xn--bcher-kva.example"}}},
		},
		{
			name: "byte order mark",
			in:   "\uFEFFa.example.com\n",
			want: []want{{line: 1, domains: []string{"a.example.com"}}},
		},
		{
			name: "no final newline",
			in:   "a.example.com\nb.example.com",
			want: []want{{line: 1, domains: []string{"a.example.com"}}, {line: 2, domains: []string{"b.example.com"}}},
		},
		{
			name: "empty file",
			in:   "",
		},
		{
			name: "invalid domain skips only its line",
			in:   "a.example.com\nb..example.com c.example.com\nd.example.com\n",
			want: []want{{line: 1, domains: []string{"a.example.com"}}, {line: 3, domains: []string{"d.example.com"}}},
			problems: []string{
				`domains.conf:2: "b..example.com": *`,
			},
		},
		{
			name: "every bad domain of a line is reported",
			in:   "localhost 10.0.0.1 ok.example.com",
			problems: []string{
				`domains.conf:1: "localhost": *`,
				`domains.conf:1: "10.0.0.1": *`,
			},
		},
		{
			name: "name covered by a wildcard on the same line",
			in:   "*.example.com test.example.com\n",
			problems: []string{
				`domains.conf:1: "test.example.com" is already covered by "*.example.com" on the same line; the CA refuses a certificate that lists both, remove one`,
			},
		},
		{
			name: "covered main domain",
			in:   "test.example.com *.example.com\n",
			problems: []string{
				`domains.conf:1: "test.example.com" is already covered by "*.example.com" on the same line; the CA refuses a certificate that lists both, remove one`,
			},
		},
		{
			name: "apex and grandchild are not covered",
			in:   "*.example.com example.com a.b.example.com\n",
			want: []want{{line: 1, domains: []string{"*.example.com", "example.com", "a.b.example.com"}}},
		},
		{
			name: "duplicate lineage name",
			in:   "example.com\n# comment\n*.example.com example.com\n",
			want: []want{{line: 1, domains: []string{"example.com"}}},
			problems: []string{
				`domains.conf:3: certificate name "example.com" is already used by line 1 (the name is the first domain without "*."); this line is ignored`,
			},
		},
		{
			name: "a bad line does not claim its name",
			in:   "example.com bad..example.com\nexample.com\n",
			want: []want{{line: 2, domains: []string{"example.com"}}},
			problems: []string{
				`domains.conf:1: "bad..example.com": *`,
			},
		},
		{
			name: "empty autorestart value",
			in:   "a.example.com autorestart-containers=\n",
			problems: []string{
				`domains.conf:1: autorestart-containers= is empty (write autorestart-containers=name1,name2 with no spaces)`,
			},
		},
		{
			name: "autorestart list with a space",
			in:   "a.example.com autorestart-containers=a, b\n",
			problems: []string{
				`domains.conf:1: autorestart-containers=a,: empty container name (separate names with commas, no spaces)`,
			},
		},
		{
			name: "autorestart bad container name",
			in:   "a.example.com autorestart-containers=a;b\n",
			problems: []string{
				`domains.conf:1: autorestart-containers=a;b: "a;b" is not a container name (letters, digits, '_', '.' and '-', starting with a letter or digit)`,
			},
		},
		{
			name: "empty autocmd value",
			in:   "a.example.com autocmd-containers=  \n",
			problems: []string{
				`domains.conf:1: autocmd-containers= is empty (write autocmd-containers=container:command args,other:command)`,
			},
		},
		{
			name: "autocmd without command",
			in:   "a.example.com autocmd-containers=web\n",
			problems: []string{
				`domains.conf:1: autocmd-containers: "web" has no command (write container:command)`,
			},
		},
		{
			name: "autocmd empty container",
			in:   "a.example.com autocmd-containers=:reload\n",
			problems: []string{
				`domains.conf:1: autocmd-containers: ":reload" has an empty container name (write container:command)`,
			},
		},
		{
			name: "autocmd empty command",
			in:   "a.example.com autocmd-containers=web:  ,db:x\n",
			problems: []string{
				`domains.conf:1: autocmd-containers: empty command for container "web"`,
			},
		},
		{
			name: "autocmd empty entry",
			in:   "a.example.com autocmd-containers=web:x,,db:y\n",
			problems: []string{
				`domains.conf:1: autocmd-containers: empty entry (entries are separated by single commas)`,
			},
		},
		{
			name: "autocmd control character",
			in:   "a.example.com autocmd-containers=web:x\x00y\n",
			problems: []string{
				`domains.conf:1: autocmd-containers: command for container "web" contains a control character`,
			},
		},
		{
			name: "unknown option with suggestion",
			in:   "a.example.com autorestart-container=web\n",
			problems: []string{
				`domains.conf:1: unknown option "autorestart-container=web" (known: autorestart-containers=, autocmd-containers=); did you mean autorestart-containers=?`,
			},
		},
		{
			name: "unknown option without suggestion",
			in:   "a.example.com key=value\n",
			problems: []string{
				`domains.conf:1: unknown option "key=value" (known: autorestart-containers=, autocmd-containers=)`,
			},
		},
		{
			name: "domain after autorestart",
			in:   "a.example.com autorestart-containers=web b.example.com\n",
			problems: []string{
				`domains.conf:1: "b.example.com" after autorestart-containers=: domain names must come before the options`,
			},
		},
		{
			name: "option given twice",
			in:   "a.example.com autorestart-containers=web autorestart-containers=db\n",
			problems: []string{
				`domains.conf:1: autorestart-containers= given twice on one line; list every entry in one option`,
			},
		},
		{
			name: "autocmd given twice",
			in:   "a.example.com autocmd-containers=web:x autocmd-containers=db:y\n",
			problems: []string{
				`domains.conf:1: autocmd-containers= given twice on one line; list every entry in one option`,
			},
		},
		{
			name: "only options",
			in:   "autorestart-containers=web\n",
			problems: []string{
				`domains.conf:1: autorestart-containers= needs at least one domain name before it`,
			},
		},
		{
			name: "only an unknown option",
			in:   "x=y\n",
			problems: []string{
				`domains.conf:1: unknown option "x=y" (known: autorestart-containers=, autocmd-containers=)`,
			},
		},
		{
			name: "over-long line is skipped",
			in:   "a.example.com\n" + strings.Repeat("b", maxLineBytes+1) + "\nc.example.com\n",
			want: []want{{line: 1, domains: []string{"a.example.com"}}, {line: 3, domains: []string{"c.example.com"}}},
			problems: []string{
				fmt.Sprintf("domains.conf:2: line longer than %d bytes; skipped", maxLineBytes),
			},
		},
		{
			name: "over-long last line without newline",
			in:   "a.example.com\n" + strings.Repeat("b", 3*maxLineBytes),
			want: []want{{line: 1, domains: []string{"a.example.com"}}},
			problems: []string{
				fmt.Sprintf("domains.conf:2: line longer than %d bytes; skipped", maxLineBytes),
			},
		},
		{
			name: "as many names as the CA allows",
			in:   strings.Join(manyNames(cert.MaxNames), " ") + "\n",
			want: []want{{line: 1, domains: manyNames(cert.MaxNames)}},
		},
		{
			name: "one name too many skips only its line",
			in:   "a.example.com\n" + strings.Join(manyNames(cert.MaxNames+1), " ") + " autorestart-containers=web\nc.example.com\n",
			want: []want{{line: 1, domains: []string{"a.example.com"}}, {line: 3, domains: []string{"c.example.com"}}},
			problems: []string{
				"domains.conf:2: the line has 101 names; the CA's limit is 100 names per certificate: split it into several lines",
			},
		},
		{
			name: "names are counted after normalisation and de-duplication",
			in:   strings.Join(manyNames(cert.MaxNames), " ") + " N1.Example.COM. n2.example.com\n",
			want: []want{{line: 1, domains: manyNames(cert.MaxNames)}},
		},
		{
			name: "line of exactly the limit is read",
			in:   "a.example.com" + strings.Repeat(" ", maxLineBytes-len("a.example.com")) + "\n",
			want: []want{{line: 1, domains: []string{"a.example.com"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs, problems := ParseDomains("domains.conf", strings.NewReader(tt.in))
			var got []string
			for _, p := range problems {
				got = append(got, p.Error())
				var le *LineError
				if !errors.As(p, &le) || le.File != "domains.conf" {
					t.Errorf("problem %v is not a *LineError for domains.conf", p)
				}
			}
			if !matchMessages(got, tt.problems) {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.problems)
			}
			if len(specs) != len(tt.want) {
				t.Fatalf("got %d specs %+v, want %d", len(specs), specs, len(tt.want))
			}
			for i, w := range tt.want {
				s := specs[i]
				wantSpec := cert.Spec{
					Name:    cert.LineageName(w.domains[0]),
					Domains: w.domains,
					Source:  cert.Source{Kind: cert.FromFile, File: "domains.conf", Line: w.line},
					Actions: w.actions,
				}
				if !reflect.DeepEqual(s, wantSpec) {
					t.Errorf("spec %d:\n got %+v\nwant %+v", i, s, wantSpec)
				}
			}
		})
	}
}

func TestParseDomainsLineageName(t *testing.T) {
	specs, problems := ParseDomains("/etc/letsencrypt/domains.conf", strings.NewReader("*.example.com example.com\n"))
	if len(problems) > 0 || len(specs) != 1 {
		t.Fatalf("got %v, %v", specs, problems)
	}
	if specs[0].Name != "example.com" {
		t.Errorf("name = %q, want example.com", specs[0].Name)
	}
	if got := specs[0].Source.String(); got != "/etc/letsencrypt/domains.conf:1" {
		t.Errorf("source = %q", got)
	}
}

func TestLineError(t *testing.T) {
	inner := errors.New("boom")
	err := error(&LineError{File: "domains.conf", Line: 3, Err: inner})
	if err.Error() != "domains.conf:3: boom" {
		t.Errorf("Error() = %q", err.Error())
	}
	if !errors.Is(err, inner) {
		t.Error("errors.Is does not see the wrapped error")
	}
}

type failingReader struct{ data string }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestParseDomainsReadError(t *testing.T) {
	specs, problems := ParseDomains("domains.conf", &failingReader{data: "a.example.com\nb.exa"})
	if len(specs) != 1 || specs[0].Name != "a.example.com" {
		t.Errorf("specs = %+v", specs)
	}
	if len(problems) != 1 || problems[0].Error() != "domains.conf:2: read: disk on fire" {
		t.Errorf("problems = %v", problems)
	}
}

// manyNames returns n distinct names: n1.example.com, n2.example.com, ….
func manyNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("n%d.example.com", i+1)
	}
	return out
}

// matchMessages compares messages exactly, except that a pattern ending in
// "*" only needs to be a prefix.
func matchMessages(got, patterns []string) bool {
	if len(got) != len(patterns) {
		return false
	}
	for i, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if !strings.HasPrefix(got[i], prefix) {
				return false
			}
		} else if got[i] != p {
			return false
		}
	}
	return true
}
