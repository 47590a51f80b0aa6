package traefik

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// maxRuleDepth bounds the nesting of parentheses and negations in a rule.
const maxRuleDepth = 64

// RuleHosts parses a Traefik router rule and returns the names its matcher
// (Host for HTTP routers, HostSNI for TCP routers) accepts, in order of
// appearance, without duplicates. Names under a negation (!Host(...)) are
// not served by the router and are left out; HostRegexp, HostSNIRegexp and
// every other matcher name no certificate. Both syntaxes are accepted:
// v2's several arguments (Host(`a`, `b`)) and v3's one argument combined
// with ||. Strings are quoted with backquotes or double quotes. An error
// says where the rule stops making sense.
func RuleHosts(rule, matcher string) ([]string, error) {
	p := &ruleParser{src: rule, matcher: matcher}
	p.next()
	if p.tok.kind == tokEOF {
		return nil, errors.New("empty rule")
	}
	if err := p.expr(false, 0); err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errorf("unexpected %s", p.tok)
	}
	return p.hosts, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokLParen
	tokRParen
	tokComma
	tokAnd
	tokOr
	tokNot
	tokBad
)

type token struct {
	kind tokKind
	text string // identifier or unquoted string
	pos  int    // byte offset in the rule
}

// String names the token in messages.
func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of rule"
	case tokIdent:
		return fmt.Sprintf("%q", t.text)
	case tokString:
		return fmt.Sprintf("string %q", t.text)
	case tokBad:
		return t.text
	}
	return fmt.Sprintf("%q", t.text)
}

type ruleParser struct {
	src     string
	matcher string
	pos     int
	tok     token
	hosts   []string
}

func (p *ruleParser) errorf(format string, args ...any) error {
	return fmt.Errorf("rule: at character %d: %s", p.tok.pos+1, fmt.Sprintf(format, args...))
}

// next reads the next token into p.tok.
func (p *ruleParser) next() {
	for p.pos < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.src) {
		p.tok = token{kind: tokEOF, pos: start}
		return
	}
	c := p.src[p.pos]
	two := ""
	if p.pos+1 < len(p.src) {
		two = p.src[p.pos : p.pos+2]
	}
	switch {
	case c == '(':
		p.pos++
		p.tok = token{tokLParen, "(", start}
	case c == ')':
		p.pos++
		p.tok = token{tokRParen, ")", start}
	case c == ',':
		p.pos++
		p.tok = token{tokComma, ",", start}
	case two == "&&":
		p.pos += 2
		p.tok = token{tokAnd, "&&", start}
	case two == "||":
		p.pos += 2
		p.tok = token{tokOr, "||", start}
	case c == '!':
		p.pos++
		p.tok = token{tokNot, "!", start}
	case c == '`' || c == '"':
		end := strings.IndexByte(p.src[p.pos+1:], c)
		if end < 0 {
			p.tok = token{tokBad, "unterminated string", start}
			p.pos = len(p.src)
			return
		}
		p.tok = token{tokString, p.src[p.pos+1 : p.pos+1+end], start}
		p.pos += end + 2
	case c < 0x80 && (unicode.IsLetter(rune(c)) || c == '_'):
		for p.pos < len(p.src) && p.src[p.pos] < 0x80 && (unicode.IsLetter(rune(p.src[p.pos])) || unicode.IsDigit(rune(p.src[p.pos])) || p.src[p.pos] == '_') {
			p.pos++
		}
		p.tok = token{tokIdent, p.src[start:p.pos], start}
	default:
		p.pos = len(p.src)
		p.tok = token{tokBad, fmt.Sprintf("unexpected character %q", rune(c)), start}
	}
}

// expr := and ("||" and)*
func (p *ruleParser) expr(negated bool, depth int) error {
	if err := p.and(negated, depth); err != nil {
		return err
	}
	for p.tok.kind == tokOr {
		p.next()
		if err := p.and(negated, depth); err != nil {
			return err
		}
	}
	return nil
}

// and := unary ("&&" unary)*
func (p *ruleParser) and(negated bool, depth int) error {
	if err := p.unary(negated, depth); err != nil {
		return err
	}
	for p.tok.kind == tokAnd {
		p.next()
		if err := p.unary(negated, depth); err != nil {
			return err
		}
	}
	return nil
}

// unary := "!" unary | "(" expr ")" | matcher
func (p *ruleParser) unary(negated bool, depth int) error {
	if depth > maxRuleDepth {
		return p.errorf("nested more than %d levels", maxRuleDepth)
	}
	switch p.tok.kind {
	case tokNot:
		p.next()
		return p.unary(!negated, depth+1)
	case tokLParen:
		p.next()
		if err := p.expr(negated, depth+1); err != nil {
			return err
		}
		if p.tok.kind != tokRParen {
			return p.errorf("expected ) but found %s", p.tok)
		}
		p.next()
		return nil
	case tokIdent:
		return p.call(negated)
	}
	return p.errorf("expected a matcher such as Host(`example.com`) but found %s", p.tok)
}

// call := ident "(" [string ("," string)*] ")"
func (p *ruleParser) call(negated bool) error {
	name := p.tok.text
	p.next()
	if p.tok.kind != tokLParen {
		return p.errorf("expected ( after %s but found %s", name, p.tok)
	}
	p.next()
	var args []string
	for p.tok.kind != tokRParen {
		if len(args) > 0 {
			if p.tok.kind != tokComma {
				return p.errorf("expected , or ) in %s(...) but found %s", name, p.tok)
			}
			p.next()
		}
		if p.tok.kind != tokString {
			return p.errorf("expected a quoted string in %s(...) but found %s", name, p.tok)
		}
		args = append(args, p.tok.text)
		p.next()
	}
	p.next()
	if name == p.matcher {
		if len(args) == 0 {
			return fmt.Errorf("rule: %s() names no host", name)
		}
		if !negated {
			for _, a := range args {
				if !containsFold(p.hosts, a) {
					p.hosts = append(p.hosts, a)
				}
			}
		}
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
