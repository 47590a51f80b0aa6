package labels

import (
	"errors"
	"strings"

	"github.com/certdock/certdock/internal/shellwords"
)

// SplitCommand reads a command line (certdock.exec, CERTDOCK_ON_FAILURE)
// into argv with shellwords.Split — whitespace separates, quotes and
// backslashes as in a POSIX shell, without any expansion, globbing, pipes
// or variables — and refuses what cannot be run: no words, an empty
// program name, a control character other than tab, newline and carriage
// return. The result is run without a shell.
func SplitCommand(s string) ([]string, error) {
	argv, err := shellwords.Split(s)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("empty command")
	}
	for _, arg := range argv {
		if strings.ContainsFunc(arg, isControl) {
			return nil, errors.New("control character in command")
		}
	}
	return argv, nil
}

// isControl reports an ASCII control character that has no place in a
// command's words; the blanks a quote may hold are allowed.
func isControl(r rune) bool {
	return (r < 0x20 || r == 0x7f) && r != '\t' && r != '\n' && r != '\r'
}
