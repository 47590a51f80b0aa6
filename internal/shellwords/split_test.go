package shellwords

import (
	"slices"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string // the whole message
	}{
		{name: "empty", in: "", want: nil},
		{name: "blanks only", in: "  \t\n\r ", want: nil},
		{name: "words", in: "nginx -s reload", want: []string{"nginx", "-s", "reload"}},
		{name: "blanks", in: "a  b\tc\nd", want: []string{"a", "b", "c", "d"}},
		{name: "runs of blanks", in: "a  b\tc\nd\r\ne", want: []string{"a", "b", "c", "d", "e"}},
		{name: "leading and trailing blanks", in: "  a   b  ", want: []string{"a", "b"}},
		{name: "empty single quotes", in: `''`, want: []string{""}},
		{name: "empty word among others", in: `x '' ""`, want: []string{"x", "", ""}},
		{name: "empty quotes inside a word", in: `a''b`, want: []string{"ab"}},
		{name: "single quotes keep everything", in: `sh -c 'echo $HOME; rm -rf /'`, want: []string{"sh", "-c", "echo $HOME; rm -rf /"}},
		{name: "backslash in single quotes", in: `'a\b'`, want: []string{`a\b`}},
		{name: "single quote closed, escaped, reopened", in: `'it'\''s'`, want: []string{"it's"}},
		{name: "double quote escapes", in: `say "hello \"you\" \n"`, want: []string{"say", `hello "you" \n`}},
		{name: "dollar escape, other backslash kept", in: `"a\$b\x"`, want: []string{`a$b\x`}},
		{name: "dollar and backtick escapes", in: `"a\$b\x\` + "`" + `"`, want: []string{`a$b\x` + "`"}},
		{name: "escaped backslash in double quotes", in: `"a\\b"`, want: []string{`a\b`}},
		{name: "backslash newline in double quotes", in: "\"a\\\nb\"", want: []string{"ab"}},
		{name: "newline in double quotes", in: "\"a\nb\"", want: []string{"a\nb"}},
		{name: "escaped blank", in: `a\ b c`, want: []string{"a b", "c"}},
		{name: "escaped quote outside quotes", in: `\"x\'`, want: []string{`"x'`}},
		{name: "backslash newline joins lines", in: "a\\\nb", want: []string{"ab"}},
		{name: "backslash newline between words", in: "a \\\n b", want: []string{"a", "b"}},
		{name: "mixed parts make one word", in: `x"y z"'w'`, want: []string{"xy zw"}},
		{name: "shell syntax is literal", in: "echo a|b;c $(id) `id` >f 2>&1 & # x", want: []string{"echo", "a|b;c", "$(id)", "`id`", ">f", "2>&1", "&", "#", "x"}},
		{name: "bytes kept as they are", in: "\xff\x00 é\\é", want: []string{"\xff\x00", "éé"}},
		{name: "unterminated single quote", in: `echo 'open`, wantErr: "unterminated single quote: the ' at character 6 is never closed"},
		{name: "unterminated double quote", in: `nginx "-s reload`, wantErr: `unterminated double quote: the " at character 7 is never closed`},
		{name: "position counts characters", in: `é "x`, wantErr: `unterminated double quote: the " at character 3 is never closed`},
		{name: "escaped closing double quote", in: `"x\"`, wantErr: `unterminated double quote: the " at character 1 is never closed`},
		{name: "backslash at the end of a double quote", in: `"x\`, wantErr: `unterminated double quote: the " at character 1 is never closed`},
		{name: "single quote inside double quotes", in: `"it's`, wantErr: `unterminated double quote: the " at character 1 is never closed`},
		{name: "lone backslash", in: `trailing\`, wantErr: `ends with a lone backslash (write \\ for a backslash)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Split(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || got != nil {
					t.Fatalf("Split(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("Split(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// quote quotes w so that Split reads it back as one word: in single
// quotes, where a single quote of w closes the quote, is written escaped
// and opens a new one.
func quote(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t\n\r'\"\\") {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"nginx -s reload",
		"--auth-token=x --auth-username y",
		`--a="b c" 'd e' f\ g`,
		`'x y' "z \" w"`,
		"a\\\nb \"\\\"\" ''",
		`"unterminated`,
		`'unterminated`,
		`trailing\`,
		"\x00\xff é",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := Split(s)
		if err != nil {
			if words != nil {
				t.Fatalf("Split(%q) = %q with error %v", s, words, err)
			}
			if !strings.ContainsAny(s, `'"\`) {
				t.Fatalf("Split(%q): %v, but it has no quote or backslash", s, err)
			}
			return
		}
		// Without quotes or backslashes, words are the blank-separated
		// fields.
		if !strings.ContainsAny(s, `'"\`) {
			fields := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(" \t\n\r", r) })
			if !slices.Equal(words, fields) {
				t.Fatalf("Split(%q) = %q, want the fields %q", s, words, fields)
			}
		}
		// Quoting each word and splitting again gives the same words.
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = quote(w)
		}
		again, err := Split(strings.Join(quoted, " "))
		if err != nil {
			t.Fatalf("re-split of %q: %v", quoted, err)
		}
		if !slices.Equal(words, again) {
			t.Fatalf("words %q re-split as %q", words, again)
		}
	})
}
