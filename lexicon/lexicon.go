package lexicon

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/certdock/certdock/internal/suggest"
)

// DefaultProvider is the seed image's default LEXICON_PROVIDER, used when
// the provider is empty.
const DefaultProvider = "cloudflare"

// Translation is the lego provider and environment derived from the
// seed's Lexicon settings.
type Translation struct {
	// Provider is the lego provider name (e.g. "gandiv5" for Lexicon's
	// "gandi").
	Provider string

	// Env are the lego variables to set, in a stable order: the
	// provider's options in Lexicon's order, then derived values. Entries
	// marked Kept are already settled by the real environment and must
	// not be set.
	Env []Var

	// Notes are things worth telling the user that are not errors:
	// Lexicon settings that lego does not need, or that behave slightly
	// differently.
	Notes []string
}

// Var is one lego variable derived from a Lexicon setting.
type Var struct {
	Name  string // the lego variable, e.g. "CLOUDFLARE_DNS_API_TOKEN"
	Value string // its value (for a Kept entry: the environment's own value, possibly empty)

	// From says where the value came from: "LEXICON_CLOUDFLARE_AUTH_TOKEN",
	// "LEXICON_PROVIDER_OPTIONS --auth-token", or
	// "/etc/letsencrypt/lexicon.yml cloudflare.auth_token". For a Kept
	// entry it also says which variable of the environment wins.
	From string

	// Secret marks tokens, secrets, passwords and keys: never log Value.
	Secret bool

	// Kept means the real environment already sets this variable (or its
	// _FILE form, an alias lego reads, or a variable lego prefers to it),
	// and the translated value is not applied.
	Kept bool
}

// Error is a problem with one Lexicon setting. Its message has the form
// "SOURCE: what is wrong", where SOURCE is the variable, file or option at
// fault.
type Error struct {
	// Source names what is at fault: "LEXICON_PROVIDER",
	// "LEXICON_PROVIDER_OPTIONS --auth-token" or a file's path.
	Source string
	Err    error // what is wrong
}

// Error renders the problem as "SOURCE: what is wrong".
func (e *Error) Error() string { return e.Source + ": " + e.Err.Error() }

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

// LegoProviderName returns the lego provider for a Lexicon provider name,
// and whether there is one. It maps names only: some of these providers'
// Lexicon options are not translated.
func LegoProviderName(lexiconProvider string) (string, bool) {
	_, p := findLexiconProvider(lexiconProvider)
	if p == nil {
		return "", false
	}
	return p.lego, true
}

func findLexiconProvider(name string) (string, *lexiconProvider) {
	name = strings.ToLower(strings.TrimSpace(name))
	key := name
	if alias, ok := lexiconAliases[name]; ok {
		key = alias
	}
	return name, lexiconProviders[key]
}

// Translate reads the seed's Lexicon settings for provider (the
// LEXICON_PROVIDER value; empty means cloudflare) and returns the lego
// provider and variables they amount to.
//
// Lexicon options come from, lowest precedence first, as Lexicon 3's
// command line resolved them: dir/lexicon.yml (the provider's section,
// and top-level Lexicon options such as delegated), dir/lexicon_<provider>.yml,
// LEXICON_<PROVIDER>_<OPTION> variables (and Lexicon's legacy
// LEXICON_<PROVIDER>_<NAME> for an auth_<name> option), then the command
// line: LEXICON_PROVIDER_OPTIONS for the provider's options and
// LEXICON_OPTIONS for Lexicon's own. An empty value counts as unset, as in
// Lexicon. Missing files are fine; dir is the directory the seed ran
// Lexicon in (CERTDOCK_DIR), unless LEXICON_OPTIONS gives --config-dir.
// environ (os.Environ's form) is only used to find the
// LEXICON_<PROVIDER>_* variables; values are read through getenv.
//
// A lego variable already set in the environment keeps its value: the
// entry is marked Kept. Every problem is reported, each as an *Error
// naming the variable, file or option at fault, in one error built with
// errors.Join; the translation is then nil.
func Translate(provider string, getenv func(string) string, environ []string, dir string) (*Translation, error) {
	name, p := findLexiconProvider(provider)
	if name == "" {
		name, p = findLexiconProvider(DefaultProvider)
	}
	if p == nil {
		return nil, errors.Join(unknownLexiconProvider(name))
	}
	r := &lexiconReader{
		name:   name,
		p:      p,
		getenv: getenv,
		opts:   map[string]lexiconSetting{},
		global: map[string]lexiconSetting{},
	}
	r.read(environ, dir)
	if len(r.untranslated) > 0 {
		r.errs = append(r.errs, &Error{Source: "LEXICON_PROVIDER", Err: fmt.Errorf(
			"certdock does not translate the options of Lexicon's %s provider (given by %s): set DNS_PROVIDER=%s and the variables lego documents at %s",
			name, strings.Join(r.untranslated, ", "), p.lego, legoDocsURL(p.lego))})
	}
	t := &lexiconTranslator{
		name:   name,
		lego:   p.lego,
		ttl:    p.ttl,
		dir:    dir,
		opts:   r.opts,
		getenv: getenv,
		notes:  r.notes,
		errs:   r.errs,
	}
	t.translate(p)
	t.translateGlobal(r.global)
	if len(t.errs) > 0 {
		return nil, errors.Join(t.errs...)
	}
	return &Translation{Provider: t.lego, Env: t.env, Notes: t.notes}, nil
}

// unknownLexiconProvider explains that name has no lego equivalent known.
func unknownLexiconProvider(name string) error {
	if name == "auto" {
		return &Error{Source: "LEXICON_PROVIDER", Err: errors.New(
			`Lexicon's "auto" provider, which picked a provider from the domain's name servers, has no lego equivalent: set DNS_PROVIDER to your DNS host's lego provider (list: https://go-acme.github.io/lego/dns/) and that provider's variables`)}
	}
	known := make([]string, 0, len(lexiconProviders))
	for k := range lexiconProviders {
		known = append(known, k)
	}
	msg := fmt.Sprintf("%q is not a Lexicon provider certdock can translate", name)
	if near := suggest.Closest(name, known, 3); len(near) > 0 {
		msg += " (did you mean " + strings.Join(near, " or ") + "?)"
	}
	msg += fmt.Sprintf("; set DNS_PROVIDER to a lego provider name instead (DNS_PROVIDER=%s if that is lego's name for it; list: https://go-acme.github.io/lego/dns/) with the variables that provider documents", name)
	return &Error{Source: "LEXICON_PROVIDER", Err: errors.New(msg)}
}

func legoDocsURL(lego string) string {
	return "https://go-acme.github.io/lego/dns/" + lego + "/"
}

// lexiconSetting is one option's value and where it came from.
type lexiconSetting struct {
	value string
	from  string
}

// lexiconBaseOptions are the options every Lexicon provider's command line
// accepts besides its own. Only ttl matters here.
var lexiconBaseOptions = []string{"ttl", "name", "content", "priority", "identifier", "log_level", "output"}

// lexiconGlobalSpec is what LEXICON_OPTIONS may hold: the options of
// Lexicon's main command line.
var lexiconGlobalSpec = lexiconArgSpec{
	Options:  []string{"delegated", "config_dir"},
	Switches: []string{"resolve_zone_name", "version"},
}

// lexiconReader gathers the Lexicon options of one provider.
type lexiconReader struct {
	name   string // the Lexicon provider name as given, lower case
	p      *lexiconProvider
	getenv func(string) string

	opts   map[string]lexiconSetting // the provider's options
	global map[string]lexiconSetting // Lexicon's own options: delegated, ttl

	// untranslated lists where options were given for a provider whose
	// options certdock does not translate.
	untranslated []string

	notes []string
	errs  []error
}

func (r *lexiconReader) fail(where string, err error) {
	r.errs = append(r.errs, &Error{Source: where, Err: err})
}

// read fills opts and global from every source, lowest precedence first,
// so that a later value replaces an earlier one.
func (r *lexiconReader) read(environ []string, dir string) {
	globalArgs, err := parseLexiconArgs(r.getenv("LEXICON_OPTIONS"), lexiconGlobalSpec)
	if err != nil {
		r.fail("LEXICON_OPTIONS", err)
	}
	configDir := dir
	for _, a := range globalArgs {
		if a.Name == "config_dir" && strings.TrimSpace(a.Value) != "" {
			configDir = strings.TrimSpace(a.Value)
			if !filepath.IsAbs(configDir) {
				configDir = filepath.Join(dir, configDir)
			}
		}
	}

	r.readGlobalFile(filepath.Join(configDir, "lexicon.yml"))
	r.readProviderFile(filepath.Join(configDir, "lexicon_"+r.name+".yml"))
	r.readEnv(environ)
	r.readProviderArgs()

	// config_dir was used above; resolve_zone_name is what lego always
	// does; version does not matter.
	for _, a := range globalArgs {
		if a.Name == "delegated" {
			r.setGlobal(a.Name, a.Value, "LEXICON_OPTIONS "+a.Flag)
		}
	}
}

// known reports whether option is one of the provider's Lexicon options.
func (r *lexiconReader) known(option string) bool {
	return slices.ContainsFunc(r.p.options, func(o lexiconOption) bool { return o.name == option })
}

func (r *lexiconReader) optionNames() []string {
	var names []string
	for _, o := range r.p.options {
		names = append(names, o.name)
	}
	return names
}

// setOption records a provider option from a configuration file or the
// environment; unknown options are ignored, as Lexicon did, with a note.
func (r *lexiconReader) setOption(option, value, from string) {
	value = strings.TrimSpace(value)
	if value == "" {
		return
	}
	switch {
	case r.p.options == nil:
		r.untranslated = append(r.untranslated, from)
	case r.known(option):
		r.opts[option] = lexiconSetting{value, from}
	default:
		msg := fmt.Sprintf("%s: %q is not an option of Lexicon's %s provider; ignored", from, option, r.name)
		if near := suggest.Closest(option, r.optionNames(), 2); len(near) > 0 {
			msg += " (did you mean " + strings.Join(near, " or ") + "?)"
		} else {
			msg += " (its options: " + strings.Join(r.optionNames(), ", ") + ")"
		}
		r.notes = append(r.notes, msg)
	}
}

func (r *lexiconReader) setGlobal(option, value, from string) {
	if value = strings.TrimSpace(value); value != "" {
		r.global[option] = lexiconSetting{value, from}
	}
}

// readGlobalFile reads lexicon.yml: the provider's section, and Lexicon's
// own options at the top level. Other providers' sections are ignored.
func (r *lexiconReader) readGlobalFile(path string) {
	root, err := readLexiconYAML(path)
	if err != nil {
		r.fail(path, err)
		return
	}
	for _, kv := range root {
		switch {
		case kv.key == r.name:
			if kv.isScalar && kv.value == "" {
				continue // an empty section
			}
			if kv.children == nil {
				r.fail(path, fmt.Errorf("%s: must be a mapping of the provider's options (e.g. auth_token: ...)", kv.key))
				continue
			}
			for _, opt := range kv.children {
				if !opt.isScalar {
					r.fail(path, fmt.Errorf("%s.%s: must be a single value", kv.key, opt.key))
					continue
				}
				r.setOption(opt.key, opt.value, path+" "+kv.key+"."+opt.key)
			}
		case kv.key == "delegated" || kv.key == "ttl":
			if !kv.isScalar {
				r.fail(path, fmt.Errorf("%s: must be a single value", kv.key))
				continue
			}
			r.setGlobal(kv.key, kv.value, path+" "+kv.key)
		}
	}
}

// readProviderFile reads lexicon_<provider>.yml, whose top level holds the
// provider's options.
func (r *lexiconReader) readProviderFile(path string) {
	root, err := readLexiconYAML(path)
	if err != nil {
		r.fail(path, err)
		return
	}
	for _, opt := range root {
		if !opt.isScalar {
			r.fail(path, fmt.Errorf("%s: must be a single value", opt.key))
			continue
		}
		r.setOption(opt.key, opt.value, path+" "+opt.key)
	}
}

// readEnv reads LEXICON_<PROVIDER>_<OPTION> variables, and Lexicon's own
// LEXICON_DELEGATED and LEXICON_TTL. As in Lexicon, an auth_<name> option
// is read from LEXICON_<PROVIDER>_AUTH_<NAME>, else from the legacy
// LEXICON_<PROVIDER>_<NAME>.
func (r *lexiconReader) readEnv(environ []string) {
	r.setGlobal("delegated", r.getenv("LEXICON_DELEGATED"), "LEXICON_DELEGATED")
	r.setGlobal("ttl", r.getenv("LEXICON_TTL"), "LEXICON_TTL")

	prefix := "LEXICON_" + strings.ToUpper(r.name) + "_"
	used := map[string]bool{}
	for _, o := range r.p.options {
		direct := prefix + strings.ToUpper(o.name)
		names := []string{direct}
		if legacy, ok := legacyLexiconVar(direct); ok {
			names = append(names, legacy)
		}
		for _, v := range names {
			if strings.TrimSpace(r.getenv(v)) != "" {
				r.setOption(o.name, r.getenv(v), v)
				used[v] = true
				break
			}
		}
	}

	// Variables that name no option of the provider.
	var others []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, prefix) && len(k) > len(prefix) && !used[k] {
			others = append(others, k)
		}
	}
	slices.Sort(others)
	others = slices.Compact(others)
	for _, k := range others {
		option := strings.ToLower(strings.TrimPrefix(k, prefix))
		if r.known(option) || r.known("auth_"+option) {
			continue // read above, or shadowed by the AUTH_ form
		}
		r.setOption(option, r.getenv(k), k)
	}
}

// legacyLexiconVar is Lexicon's legacy name for a variable: the last
// "_AUTH_" becomes "_" (LEXICON_CLOUDFLARE_AUTH_TOKEN →
// LEXICON_CLOUDFLARE_TOKEN).
func legacyLexiconVar(name string) (string, bool) {
	i := strings.LastIndex(name, "_AUTH_")
	if i < 0 {
		return "", false
	}
	return name[:i] + "_" + name[i+len("_AUTH_"):], true
}

// readProviderArgs reads LEXICON_PROVIDER_OPTIONS, which the seed put on
// Lexicon's command line after the provider's name.
func (r *lexiconReader) readProviderArgs() {
	raw := r.getenv("LEXICON_PROVIDER_OPTIONS")
	if strings.TrimSpace(raw) == "" {
		return
	}
	spec := lexiconArgSpec{Options: slices.Clone(lexiconBaseOptions)}
	for _, o := range r.p.options {
		if o.isSwitch {
			spec.Switches = append(spec.Switches, o.name)
		} else {
			spec.Options = append(spec.Options, o.name)
		}
	}
	args, err := parseLexiconArgs(raw, spec)
	if err != nil {
		if r.p.options == nil {
			err = fmt.Errorf("%v (certdock does not translate the options of Lexicon's %s provider)", err, r.name)
		}
		r.fail("LEXICON_PROVIDER_OPTIONS", err)
		return
	}
	for _, a := range args {
		from := "LEXICON_PROVIDER_OPTIONS " + a.Flag
		switch {
		case a.Name == "ttl":
			r.setGlobal("ttl", a.Value, from)
		case slices.Contains(lexiconBaseOptions, a.Name):
			// The record's name, content and the like: the seed's
			// script gave its own after these.
		default:
			r.setOption(a.Name, a.Value, from)
		}
	}
}

// lexiconTranslator turns a provider's Lexicon options into lego
// variables.
type lexiconTranslator struct {
	name string // the Lexicon provider name
	lego string // the lego provider name (translate may change it)
	ttl  string // the lego TTL variable (translate may change it)
	dir  string // the directory the seed ran Lexicon in, for relative paths

	opts   map[string]lexiconSetting
	getenv func(string) string

	env   []Var
	notes []string
	errs  []error
}

// opt returns a provider option's value and source, and whether it was
// given.
func (t *lexiconTranslator) opt(name string) (lexiconSetting, bool) {
	s, ok := t.opts[name]
	return s, ok
}

// failf reports a setting that cannot be translated.
func (t *lexiconTranslator) failf(from, format string, args ...any) {
	t.errs = append(t.errs, &Error{Source: from, Err: fmt.Errorf(format, args...)})
}

func (t *lexiconTranslator) notef(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

// set adds the lego variable name, unless the environment already settles
// it: the entry is then Kept, with the environment's value.
func (t *lexiconTranslator) set(name, value, from string) {
	if slices.ContainsFunc(t.env, func(v Var) bool { return v.Name == name }) {
		return
	}
	v := Var{Name: name, Value: value, From: from, Secret: legoVarIsSecret(name)}
	if by := t.setBy(name); by != "" {
		v.Value, v.Kept = t.getenv(name), true
		v.From = fmt.Sprintf("%s (not applied: %s is set in the environment and wins)", from, by)
	}
	t.env = append(t.env, v)
}

// setBy returns the environment variable that already settles the lego
// variable name, or "".
func (t *lexiconTranslator) setBy(name string) string {
	for _, c := range legoCandidates(name) {
		if strings.TrimSpace(t.getenv(c)) != "" {
			return c
		}
	}
	return ""
}

// legoConflicts lists, for some lego variables, variables that lego would
// use instead of or ahead of them: if the environment sets one of those,
// the translated variable must not be set either, or it would change which
// credentials lego picks.
var legoConflicts = map[string][]string{
	// lego prefers the global API key to API tokens.
	"CLOUDFLARE_EMAIL":   {"CLOUDFLARE_DNS_API_TOKEN", "CLOUDFLARE_ZONE_API_TOKEN"},
	"CLOUDFLARE_API_KEY": {"CLOUDFLARE_DNS_API_TOKEN", "CLOUDFLARE_ZONE_API_TOKEN"},
	// lego prefers a personal access token to an API key.
	"GANDIV5_PERSONAL_ACCESS_TOKEN": {"GANDIV5_API_KEY"},
}

// legoCandidates lists the variables whose being set means lego already
// has a value for name: name itself, the _FILE form lego reads a value
// from, the other names lego reads for it, and the variables in
// legoConflicts.
func legoCandidates(name string) []string {
	base := []string{name}
	if n, ok := strings.CutSuffix(name, "_FILE"); ok {
		base = append(base, n)
	}
	base = append(base, legoAliases(name)...)
	for _, c := range legoConflicts[name] {
		base = append(base, c)
		base = append(base, legoAliases(c)...)
	}
	var out []string
	for _, n := range base {
		out = append(out, n, n+"_FILE")
	}
	return out
}

// legoAliases are the other names lego reads for a variable.
func legoAliases(name string) []string {
	switch {
	case name == "CLOUDFLARE_EMAIL":
		return []string{"CF_API_EMAIL"}
	case strings.HasPrefix(name, "CLOUDFLARE_"):
		return []string{"CF_" + strings.TrimPrefix(name, "CLOUDFLARE_")}
	case strings.HasPrefix(name, "DNSUPDATE_"):
		return []string{"RFC2136_" + strings.TrimPrefix(name, "DNSUPDATE_")}
	}
	return nil
}

// legoVarIsSecret reports whether a lego variable holds a token, secret,
// password, key or credentials document; paths to such things do not.
func legoVarIsSecret(name string) bool {
	if strings.HasSuffix(name, "_PATH") || strings.HasSuffix(name, "_FILE") {
		return false
	}
	for _, w := range []string{"TOKEN", "SECRET", "PASSWORD", "KEY", "SERVICE_ACCOUNT"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// translate maps each given option as the provider's table says.
func (t *lexiconTranslator) translate(p *lexiconProvider) {
	for _, o := range p.options {
		s, ok := t.opt(o.name)
		if !ok {
			continue
		}
		switch {
		case o.to != "":
			value := s.value
			if o.conv != nil {
				var err error
				if value, err = o.conv(value); err != nil {
					t.failf(s.from, "Lexicon's %s option %s: %v", t.name, o.name, err)
					continue
				}
			}
			t.set(o.to, value, s.from)
		case o.fail != "":
			t.failf(s.from, "Lexicon's %s option %s has no lego equivalent: %s (see %s)", t.name, o.name, o.fail, legoDocsURL(t.lego))
		case o.note != "":
			t.notef("%s: Lexicon's %s option %s is not needed and is ignored: %s", s.from, t.name, o.name, o.note)
		}
	}
	if p.translate != nil {
		p.translate(t)
	}
}

// translateGlobal handles Lexicon's own options.
func (t *lexiconTranslator) translateGlobal(global map[string]lexiconSetting) {
	if s, ok := global["ttl"]; ok {
		n, err := strconv.Atoi(s.value)
		switch {
		case err != nil || n <= 0:
			t.failf(s.from, "Lexicon's ttl %q is not a positive whole number of seconds", s.value)
		case t.ttl == "":
			t.notef("%s: Lexicon's ttl is ignored: lego's %s provider sets the TXT record's TTL itself", s.from, t.lego)
		default:
			t.set(t.ttl, strconv.Itoa(n), s.from)
		}
	}
	if s, ok := global["delegated"]; ok {
		t.notef("%s: Lexicon's delegated (%s) is not needed and is ignored: lego finds the zone of each name with DNS (SOA) queries, delegated sub-zones included", s.from, s.value)
	}
}
