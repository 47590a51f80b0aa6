package shellwords

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Split splits s into words as a POSIX shell splits the words of a simple
// command, and does nothing else: no variables, command substitution,
// globs or "~" are expanded, and pipes, redirections, ";", "&" and "#"
// are ordinary characters.
//
//   - Blanks (space, tab, newline, carriage return) separate words.
//   - Single quotes keep everything up to the next single quote.
//   - Double quotes keep everything up to the next unescaped double
//     quote; inside them a backslash before \ " $ or ` keeps that
//     character, a backslash before a newline removes both, and any other
//     backslash is kept.
//   - Outside quotes a backslash keeps the next character, and a
//     backslash before a newline removes both (the lines are joined).
//   - Quoted and unquoted parts next to each other make one word; a pair
//     of quotes with nothing between them makes an empty word.
//
// Bytes are kept as they are, invalid UTF-8 and control characters
// included: callers refuse what they cannot use. A blank s has no words
// (nil, no error). An unterminated quote is an error naming the quote and
// where it was opened; so is a backslash at the very end.
func Split(s string) ([]string, error) {
	var (
		words  []string
		word   strings.Builder
		inWord bool // a word has begun (it may be empty, from a pair of quotes)
	)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\r':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case '\\':
			if i+1 == len(s) {
				return nil, errors.New("ends with a lone backslash (write \\\\ for a backslash)")
			}
			i++
			if s[i] != '\n' {
				word.WriteByte(s[i])
				inWord = true
			}
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, unterminated("single", s, i)
			}
			word.WriteString(s[i+1 : i+1+end])
			i, inWord = i+1+end, true
		case '"':
			end, err := doubleQuoted(&word, s, i)
			if err != nil {
				return nil, err
			}
			i, inWord = end, true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}

// doubleQuoted appends to w the text of the double quote opened at
// s[open] and returns the index of the closing quote.
func doubleQuoted(w *strings.Builder, s string, open int) (int, error) {
	for i := open + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i, nil
		case c == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`\n", s[i+1]) >= 0:
			i++
			if s[i] != '\n' {
				w.WriteByte(s[i])
			}
		default:
			w.WriteByte(c)
		}
	}
	return 0, unterminated("double", s, open)
}

// unterminated reports the quote opened at s[at] that is never closed,
// placing it by character (1-based) rather than quoting the text, which
// may hold a secret.
func unterminated(kind, s string, at int) error {
	return fmt.Errorf("unterminated %s quote: the %c at character %d is never closed", kind, s[at], utf8.RuneCountInString(s[:at])+1)
}
