package store

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// parseRenewalConf reads a certbot renewal file into a flat map: top-level
// keys as they are, keys of a section as "section.key" (so the CA is
// "renewalparams.server"). It understands the subset of configobj that
// certbot writes: comments, [section] and [[subsection]] headers, and
// key = value lines with optional quotes and inline comments.
func parseRenewalConf(rd io.Reader) (map[string]string, error) {
	out := map[string]string{}
	section := ""
	sc := bufio.NewScanner(rd)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		switch {
		case s == "" || s[0] == '#':
			continue
		case s[0] == '[':
			if !strings.HasSuffix(s, "]") {
				return nil, fmt.Errorf("line %d: unterminated section header", line)
			}
			section = strings.TrimSpace(strings.Trim(s, "[]"))
			continue
		}
		key, value, ok := strings.Cut(s, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("line %d: expected key = value", line)
		}
		value = confUnquote(strings.TrimSpace(value))
		if section != "" {
			key = section + "." + key
		}
		out[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
