package lexicon

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/certdock/certdock/internal/shellwords"
	"github.com/certdock/certdock/internal/suggest"
)

// This file reads LEXICON_PROVIDER_OPTIONS and LEXICON_OPTIONS, which the
// seed appended to its lexicon command line: "--auth-token=x --auth-username
// y" and the like, parsed the way Lexicon's argparse parser did.

// lexiconArg is one option read from a Lexicon command line.
type lexiconArg struct {
	Name  string // the option as Lexicon's configuration names it: "auth_token"
	Flag  string // the option as written: "--auth-token"
	Value string // its value; "true" for an option that takes none
}

// lexiconArgSpec lists the options a Lexicon command line may hold.
type lexiconArgSpec struct {
	// Options are the names of the options that take a value, spelled as
	// Lexicon's configuration spells them: "auth_token".
	Options []string

	// Switches are the names of the options that take no value
	// (argparse's store_true), such as "auth_sandbox".
	Switches []string
}

// parseLexiconArgs splits s like a shell would, with shellwords.Split
// (quotes and backslashes, no expansion), and reads the words as argparse would read Lexicon's options:
// "--name=value", "--name value", or "--name" alone for a switch. Like
// argparse, it accepts an unambiguous prefix of an option's name, and a
// later occurrence of an option wins. Dashes and underscores in names are
// interchangeable. Anything else is an error.
func parseLexiconArgs(s string, spec lexiconArgSpec) ([]lexiconArg, error) {
	words, err := shellwords.Split(s)
	if err != nil {
		return nil, err
	}
	var args []lexiconArg
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" || !strings.HasPrefix(w, "--") {
			return nil, fmt.Errorf("unexpected word %q: only --option=value items are allowed", w)
		}
		written, value, hasValue := strings.Cut(w, "=")
		name, isSwitch, err := spec.lookup(strings.TrimPrefix(written, "--"))
		if err != nil {
			return nil, err
		}
		switch {
		case isSwitch && hasValue:
			return nil, fmt.Errorf("%s takes no value (write %s alone)", written, written)
		case isSwitch:
			value = "true"
		case !hasValue:
			if i+1 >= len(words) || looksLikeOption(words[i+1]) {
				return nil, fmt.Errorf("%s needs a value (write %s=VALUE)", written, written)
			}
			i++
			value = words[i]
		}
		args = append(args, lexiconArg{Name: name, Flag: written, Value: value})
	}
	return args, nil
}

// lookup finds the option written as name (without its leading dashes):
// an exact match, else the only option name starts with.
func (spec lexiconArgSpec) lookup(written string) (name string, isSwitch bool, err error) {
	want := strings.ReplaceAll(written, "-", "_")
	if strings.Trim(want, "_") == "" {
		return "", false, fmt.Errorf("--%s is not an option", written)
	}
	all := slices.Concat(spec.Options, spec.Switches)
	var matches []string
	for _, o := range all {
		if o == want {
			return o, slices.Contains(spec.Switches, o), nil
		}
		if strings.HasPrefix(o, want) {
			matches = append(matches, o)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], slices.Contains(spec.Switches, matches[0]), nil
	case 0:
		known := spec.flags()
		msg := fmt.Sprintf("unknown option --%s", written)
		if near := suggest.Closest("--"+strings.ReplaceAll(want, "_", "-"), known, 3); len(near) > 0 {
			msg += " (did you mean " + strings.Join(near, " or ") + "?)"
		}
		if len(known) > 0 {
			msg += "; options: " + strings.Join(known, ", ")
		}
		return "", false, errors.New(msg)
	}
	for i, m := range matches {
		matches[i] = "--" + strings.ReplaceAll(m, "_", "-")
	}
	return "", false, fmt.Errorf("--%s is ambiguous: it could be %s", written, strings.Join(matches, ", "))
}

// flags lists the options as written on a command line: "--auth-token".
func (spec lexiconArgSpec) flags() []string {
	var out []string
	for _, o := range slices.Concat(spec.Options, spec.Switches) {
		out = append(out, "--"+strings.ReplaceAll(o, "_", "-"))
	}
	return out
}

// looksLikeOption reports whether argparse would take w for an option
// rather than a value: it starts with "-" and is not a negative number.
func looksLikeOption(w string) bool {
	if !strings.HasPrefix(w, "-") || w == "-" {
		return false
	}
	digits := strings.TrimPrefix(w, "-")
	for _, c := range digits {
		if (c < '0' || c > '9') && c != '.' {
			return true
		}
	}
	return false
}
