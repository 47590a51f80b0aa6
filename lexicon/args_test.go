package lexicon

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

var testArgSpec = lexiconArgSpec{
	Options:  []string{"auth_username", "auth_token", "auth_client_ip", "ttl"},
	Switches: []string{"auth_sandbox"},
}

func TestParseLexiconArgs(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []lexiconArg
		wantErr string
	}{
		{name: "empty", in: "  \t\n"},
		{
			name: "equals and space forms",
			in:   "--auth-username=me@example.com --auth-token my-token",
			want: []lexiconArg{
				{"auth_username", "--auth-username", "me@example.com"},
				{"auth_token", "--auth-token", "my-token"},
			},
		},
		{
			name: "quotes and escapes",
			in:   `--auth-token="a \"b\" c" --auth-username='it'\''s' --ttl=3\ 0`,
			want: []lexiconArg{
				{"auth_token", "--auth-token", `a "b" c`},
				{"auth_username", "--auth-username", "it's"},
				{"ttl", "--ttl", "3 0"},
			},
		},
		{
			name: "value with = and empty value",
			in:   "--auth-token=a=b== --auth-username=",
			want: []lexiconArg{
				{"auth_token", "--auth-token", "a=b=="},
				{"auth_username", "--auth-username", ""},
			},
		},
		{
			name: "switch, underscores, abbreviation",
			in:   "--auth-sandbox --auth_token=x --auth-user u",
			want: []lexiconArg{
				{"auth_sandbox", "--auth-sandbox", "true"},
				{"auth_token", "--auth_token", "x"},
				{"auth_username", "--auth-user", "u"},
			},
		},
		{
			name: "negative number is a value",
			in:   "--ttl -1",
			want: []lexiconArg{{"ttl", "--ttl", "-1"}},
		},
		{name: "missing value", in: "--auth-token", wantErr: "--auth-token needs a value"},
		{name: "option where a value is due", in: "--auth-token --auth-username=x", wantErr: "--auth-token needs a value"},
		{name: "switch with value", in: "--auth-sandbox=yes", wantErr: "takes no value"},
		{name: "ambiguous", in: "--auth=x", wantErr: "ambiguous"},
		{name: "unknown", in: "--auth-tokens=x", wantErr: "unknown option --auth-tokens (did you mean --auth-token?)"},
		{name: "bare word", in: "--auth-token=x create", wantErr: `unexpected word "create"`},
		{name: "short option", in: "-h", wantErr: `unexpected word "-h"`},
		{name: "double dash", in: "-- --auth-token=x", wantErr: `unexpected word "--"`},
		{name: "dashes only", in: "---", wantErr: "is not an option"},
		{name: "unterminated quote", in: `--auth-token="x`, wantErr: "unterminated double quote"},
		{name: "lone backslash", in: `--auth-token=x\`, wantErr: "lone backslash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLexiconArgs(tt.in, testArgSpec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// quoteShellWord quotes w so that shellwords.Split reads it back as one
// word.
func quoteShellWord(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t\n\r'\"\\$`") {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

func FuzzParseLexiconArgs(f *testing.F) {
	for _, s := range []string{
		"--auth-username=me@example.com --auth-token=secret",
		"--auth-token 'a b' --auth-sandbox --ttl=-5",
		"--auth-user=x --auth --auth-tok",
		"--auth-client-ip 127.0.0.1 --auth-sandbox=1",
		"create example.com TXT",
		`--auth-token="x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := parseLexiconArgs(s, testArgSpec)
		if err != nil {
			if args != nil {
				t.Fatalf("args %v returned with error %v", args, err)
			}
			return
		}
		// Every option is one the spec lists; switches are "true".
		var rendered []string
		for _, a := range args {
			isSwitch := slices.Contains(testArgSpec.Switches, a.Name)
			if !isSwitch && !slices.Contains(testArgSpec.Options, a.Name) {
				t.Fatalf("option %q is not in the spec", a.Name)
			}
			if isSwitch {
				if a.Value != "true" {
					t.Fatalf("switch %s has value %q", a.Name, a.Value)
				}
				rendered = append(rendered, "--"+a.Name)
				continue
			}
			rendered = append(rendered, quoteShellWord("--"+a.Name+"="+a.Value))
		}
		// Rendering the options back in their canonical form reads the
		// same names and values.
		again, err := parseLexiconArgs(strings.Join(rendered, " "), testArgSpec)
		if err != nil {
			t.Fatalf("canonical form %q: %v", rendered, err)
		}
		if len(again) != len(args) {
			t.Fatalf("canonical form %q read as %v, want %v", rendered, again, args)
		}
		for i := range args {
			if again[i].Name != args[i].Name || again[i].Value != args[i].Value {
				t.Fatalf("canonical form %q read as %v, want %v", rendered, again, args)
			}
		}
	})
}
