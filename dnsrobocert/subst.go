package dnsrobocert

import (
	"fmt"
	"strings"
)

// Substitute replaces each ${NAME} of data with the value of the
// environment variable NAME, as dnsrobocert does before parsing its YAML;
// $${NAME} is the escape and becomes ${NAME} unchanged. A variable that is
// not defined is an error naming it and its line. NAME is a run of
// characters other than white space and '}'; "${" not followed by such a
// name and "}" is left as it is.
func Substitute(file string, data []byte, lookup func(string) (string, bool)) ([]byte, error) {
	s := string(data)
	var out strings.Builder
	line := 1
	for i := 0; i < len(s); {
		escaped := strings.HasPrefix(s[i:], "$${")
		if !escaped && !strings.HasPrefix(s[i:], "${") {
			if s[i] == '\n' {
				line++
			}
			out.WriteByte(s[i])
			i++
			continue
		}
		open := i + 2
		if escaped {
			open++
		}
		end := open
		for end < len(s) && s[end] != '}' && !strings.ContainsRune(" \t\r\n", rune(s[end])) {
			end++
		}
		if end == open || end >= len(s) || s[end] != '}' {
			out.WriteByte(s[i])
			i++
			continue
		}
		name := s[open:end]
		if escaped {
			out.WriteString("${" + name + "}")
		} else {
			v, ok := lookup(name)
			if !ok {
				return nil, &Error{File: file, Line: line, Err: fmt.Errorf("environment variable %s is not defined (write $${%s} for a literal ${%s})", name, name, name)}
			}
			out.WriteString(v)
		}
		i = end + 1
	}
	return []byte(out.String()), nil
}
