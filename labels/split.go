package labels

import (
	"errors"
	"strings"
)

// SplitCommand splits a command line into argv the way a POSIX shell
// splits words — whitespace separates, single quotes keep everything,
// double quotes keep everything but \" \\ \$ \` escapes, a backslash
// outside quotes escapes the next character — without any expansion,
// globbing, pipes or variables. The result is run without a shell.
func SplitCommand(s string) ([]string, error) {
	var (
		argv    []string
		cur     strings.Builder
		inWord  bool
		quote   rune // 0, '\'' or '"'
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			if quote == '"' && !strings.ContainsRune("\"\\$`", r) {
				cur.WriteRune('\\')
			}
			cur.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				cur.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inWord {
				argv = append(argv, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			if r < 0x20 || r == 0x7f {
				return nil, errors.New("control character in command")
			}
			cur.WriteRune(r)
			inWord = true
		}
	}
	switch {
	case escaped:
		return nil, errors.New("command ends with a lone backslash")
	case quote != 0:
		return nil, errors.New("unterminated quote in command")
	}
	if inWord {
		argv = append(argv, cur.String())
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("empty command")
	}
	return argv, nil
}
