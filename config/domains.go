package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/internal/suggest"
)

// maxLineBytes caps the length of one domains.conf line (line ending
// excluded). Longer lines are reported and skipped.
const maxLineBytes = 64 << 10

// The options a domains.conf line may end with, as in the seed image.
const (
	optRestart = "autorestart-containers"
	optExec    = "autocmd-containers"
)

var knownOptions = []string{optRestart, optExec}

// LineError is a problem with one line of a file such as domains.conf. Its
// message has the form "FILE:LINE: what is wrong".
type LineError struct {
	File string // the file name as given to the parser
	Line int    // 1-based line number
	Err  error  // what is wrong with the line
}

// Error renders the problem as "FILE:LINE: what is wrong".
func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

// Unwrap returns the underlying problem.
func (e *LineError) Unwrap() error { return e.Err }

// ParseDomains reads a domains.conf in the seed image's grammar and returns
// one certificate per valid line, in file order. file is the name used in
// Source and in messages.
//
// Grammar, one certificate per line:
//
//	main.example.com other.example.com [autorestart-containers=a,b] [autocmd-containers=c:cmd arg,d:cmd]
//
// Domains are separated by spaces or tabs; the first one is the main domain
// and gives the lineage name ("*." removed). Blank lines are ignored and a
// "#" at the start of a line or after whitespace starts a comment.
// autorestart-containers= takes one comma-separated list of container (or
// service) names with no spaces. autocmd-containers= takes the rest of the
// line (up to a later autorestart-containers= option): comma-separated
// "container:command args" entries; a command is split on whitespace into
// argv and never run by a shell, so it cannot contain a comma or a "#"
// after a space.
//
// A bad line is skipped and reported as a *LineError; the other lines are
// still returned. Lines longer than 64 KiB are reported and skipped. A line
// whose lineage name was already used by an earlier line is reported and
// skipped; the earlier line is served.
func ParseDomains(file string, r io.Reader) (specs []cert.Spec, problems []error) {
	p := domainsParser{file: file, names: map[string]int{}}
	br := bufio.NewReaderSize(r, maxLineBytes+1)
	for n := 1; ; n++ {
		line, tooLong, err := readLine(br)
		switch {
		case tooLong:
			p.fail(n, fmt.Errorf("line longer than %d bytes; skipped", maxLineBytes))
		case err == nil || (errors.Is(err, io.EOF) && len(line) > 0):
			if n == 1 {
				line = bytes.TrimPrefix(line, []byte("\uFEFF"))
			}
			p.line(n, string(line))
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.fail(n, fmt.Errorf("read: %w", err))
			break
		}
	}
	return p.specs, p.problems
}

// readLine returns the next line without its "\n" (and "\r"). The slice is
// only valid until the next read. A line that does not fit the reader's
// buffer is consumed and reported as tooLong.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	line, err = br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		return nil, true, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, false, err
}

type domainsParser struct {
	file     string
	names    map[string]int // lineage name -> line that claimed it
	specs    []cert.Spec
	problems []error
}

func (p *domainsParser) fail(n int, err error) {
	p.problems = append(p.problems, &LineError{File: p.file, Line: n, Err: err})
}

// line parses line n and either records a spec or its problems.
func (p *domainsParser) line(n int, text string) {
	fields := strings.FieldsFunc(stripComment(text), isSpace)
	if len(fields) == 0 {
		return
	}
	count := 0
	for count < len(fields) && !isOption(fields[count]) {
		count++
	}
	domains, errs := parseDomainList(fields[:count])
	actions, err := parseOptions(fields[count:], count > 0)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		for _, err := range errs {
			p.fail(n, err)
		}
		return
	}
	name := cert.LineageName(domains[0])
	if err := cert.ValidName(name); err != nil {
		p.fail(n, err)
		return
	}
	if first, ok := p.names[name]; ok {
		p.fail(n, fmt.Errorf("certificate name %q is already used by line %d (the name is the first domain without \"*.\"); this line is ignored", name, first))
		return
	}
	p.names[name] = n
	p.specs = append(p.specs, cert.Spec{
		Name:    name,
		Domains: domains,
		Source:  cert.Source{Kind: cert.FromFile, File: p.file, Line: n},
		Actions: actions,
	})
}

// stripComment cuts s at the first "#" that starts the line or follows
// whitespace.
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || isSpace(rune(s[i-1]))) {
			return s[:i]
		}
	}
	return s
}

// isSpace reports whether r separates fields: ASCII blanks only, so that
// exotic Unicode spaces inside a name make it invalid rather than two names.
func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\v', '\f':
		return true
	}
	return false
}

// isOption reports whether tok has the form key=value.
func isOption(tok string) bool { return strings.Contains(tok, "=") }

// isKnownOption reports whether tok is key=value for a known key.
func isKnownOption(tok string) bool {
	key, _, ok := strings.Cut(tok, "=")
	return ok && (key == optRestart || key == optExec)
}

// parseDomainList normalises the domain fields of a line and checks them
// against each other and against the CA's limit of cert.MaxNames names. It
// returns the normalised names, duplicates removed, in their first order,
// or every problem found.
func parseDomainList(fields []string) (domains []string, errs []error) {
	seen := make(map[string]bool, len(fields))
	wildcards := map[string]string{} // base -> wildcard name
	for _, raw := range fields {
		d, err := cert.NormalizeDomain(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		domains = append(domains, d)
		if base, ok := strings.CutPrefix(d, "*."); ok {
			wildcards[base] = d
		}
	}
	for _, d := range domains {
		_, base, ok := strings.Cut(d, ".")
		if w, found := wildcards[base]; ok && found && cert.CoveredBy(d, w) {
			errs = append(errs, fmt.Errorf("%q is already covered by %q on the same line; the CA refuses a certificate that lists both, remove one", d, w))
		}
	}
	if len(domains) > cert.MaxNames {
		errs = append(errs, fmt.Errorf("the line has %d names; the CA's limit is %d names per certificate: split it into several lines", len(domains), cert.MaxNames))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return domains, nil
}

// parseOptions parses the fields after the domains. haveDomains tells
// whether the line had at least one domain before them.
func parseOptions(fields []string, haveDomains bool) ([]cert.Action, error) {
	if len(fields) == 0 {
		return nil, nil
	}
	if !haveDomains {
		key, _, _ := strings.Cut(fields[0], "=")
		if isKnownOption(fields[0]) {
			return nil, fmt.Errorf("%s= needs at least one domain name before it", key)
		}
	}
	var actions []cert.Action
	given := map[string]bool{}
	last := ""
	for i := 0; i < len(fields); {
		tok := fields[i]
		if !isOption(tok) {
			return nil, fmt.Errorf("%q after %s=: domain names must come before the options", tok, last)
		}
		key, value, _ := strings.Cut(tok, "=")
		if key != optRestart && key != optExec {
			return nil, unknownOption(tok)
		}
		if given[key] {
			return nil, fmt.Errorf("%s= given twice on one line; list every entry in one option", key)
		}
		given[key], last = true, key
		var (
			more []cert.Action
			err  error
		)
		switch key {
		case optRestart:
			more, err = parseRestart(value)
			i++
		case optExec:
			j := i + 1
			for j < len(fields) && !isKnownOption(fields[j]) {
				j++
			}
			more, err = parseExec(strings.Join(append([]string{value}, fields[i+1:j]...), " "))
			i = j
		}
		if err != nil {
			return nil, err
		}
		actions = append(actions, more...)
	}
	return actions, nil
}

func unknownOption(tok string) error {
	key, _, _ := strings.Cut(tok, "=")
	msg := fmt.Sprintf("unknown option %q (known: %s=, %s=)", tok, optRestart, optExec)
	if near := suggest.Closest(key, knownOptions, 1); len(near) > 0 {
		msg += fmt.Sprintf("; did you mean %s=?", near[0])
	}
	return errors.New(msg)
}

// parseRestart parses the value of autorestart-containers=.
func parseRestart(value string) ([]cert.Action, error) {
	if value == "" {
		return nil, fmt.Errorf("%s= is empty (write %s=name1,name2 with no spaces)", optRestart, optRestart)
	}
	var actions []cert.Action
	seen := map[string]bool{}
	for name := range strings.SplitSeq(value, ",") {
		if name == "" {
			return nil, fmt.Errorf("%s=%s: empty container name (separate names with commas, no spaces)", optRestart, value)
		}
		if err := checkContainerName(name); err != nil {
			return nil, fmt.Errorf("%s=%s: %v", optRestart, value, err)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		actions = append(actions, cert.Action{Kind: cert.Restart, Target: name})
	}
	return actions, nil
}

// parseExec parses the value of autocmd-containers=, which may contain
// spaces.
func parseExec(value string) ([]cert.Action, error) {
	if strings.TrimFunc(value, isSpace) == "" {
		return nil, fmt.Errorf("%s= is empty (write %s=container:command args,other:command)", optExec, optExec)
	}
	var actions []cert.Action
	for entry := range strings.SplitSeq(value, ",") {
		entry = strings.TrimFunc(entry, isSpace)
		if entry == "" {
			return nil, fmt.Errorf("%s: empty entry (entries are separated by single commas)", optExec)
		}
		name, command, ok := strings.Cut(entry, ":")
		name = strings.TrimFunc(name, isSpace)
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: %q has no command (write container:command)", optExec, entry)
		case name == "":
			return nil, fmt.Errorf("%s: %q has an empty container name (write container:command)", optExec, entry)
		}
		if err := checkContainerName(name); err != nil {
			return nil, fmt.Errorf("%s: %v", optExec, err)
		}
		argv := strings.FieldsFunc(command, isSpace)
		if len(argv) == 0 {
			return nil, fmt.Errorf("%s: empty command for container %q", optExec, name)
		}
		for _, arg := range argv {
			if !utf8.ValidString(arg) {
				return nil, fmt.Errorf("%s: command for container %q is not valid UTF-8", optExec, name)
			}
			if strings.ContainsFunc(arg, isControl) {
				return nil, fmt.Errorf("%s: command for container %q contains a control character", optExec, name)
			}
		}
		actions = append(actions, cert.Action{Kind: cert.Exec, Target: name, Command: argv})
	}
	return actions, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// checkContainerName accepts the names Docker accepts for containers and
// Swarm services (and container IDs): a letter or digit, then letters,
// digits, '_', '.' or '-'.
func checkContainerName(name string) error {
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return fmt.Errorf("%q is not a container name (letters, digits, '_', '.' and '-', starting with a letter or digit)", name)
		}
	}
	return nil
}
