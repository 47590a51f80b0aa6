package lexicon

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// lexiconYAMLSeeds are Lexicon configuration files for the fuzz targets:
// the testdata files, and shapes the reader must handle (aliases, nulls,
// repeated keys, nesting, documents that are not mappings).
func lexiconYAMLSeeds(f *testing.F) []string {
	f.Helper()
	seeds := []string{
		"",
		"~\n",
		"{}\n",
		"- a\n- b\n",
		"plain scalar\n",
		"cloudflare: [\n",
		"cloudflare:\n",
		"cloudflare: token\n",
		"cloudflare:\n  auth_token: t\n  auth_username: u\n",
		"defaults: &d\n  auth_entrypoint: ovh-ca\novh: *d\ndelegated: ~\nttl: 3600\n",
		"auth_consumer_key: one\nauth_consumer_key: two\nauth_application_secret:\n",
		"a:\n  b:\n    c:\n      d: e\n  f: [1, 2]\n",
		"? [x, y]\n: v\n? {k: v}\n: w\n",
		"<<: {a: 1}\nb: !!binary aGVsbG8=\nc: !custom 'x'\n",
		"a: 1\n---\n- x\n",
		"\"k\\x00\": \"\\u00e9\\t\"\n",
	}
	files, err := filepath.Glob("testdata/*/*.yml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, string(data))
	}
	return seeds
}

// checkLexiconYAMLEntries checks the shape readLexiconYAML promises for
// entries read with depth more levels of mappings below them: keys are
// unique at each level (the last one wins), an entry is a scalar, a
// mapping (children non-nil) or neither (a sequence), and nothing is
// returned deeper than the levels asked for.
func checkLexiconYAMLEntries(t *testing.T, entries []lexiconYAMLEntry, depth int, where string) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.key] {
			t.Fatalf("%skey %q returned twice", where, e.key)
		}
		seen[e.key] = true
		switch {
		case e.isScalar && e.children != nil:
			t.Fatalf("%s%q is both a scalar and a mapping", where, e.key)
		case !e.isScalar && e.value != "":
			t.Fatalf("%s%q is not a scalar but has the value %q", where, e.key, e.value)
		case depth == 0 && e.children != nil:
			t.Fatalf("%s%q has children below the levels read", where, e.key)
		}
		checkLexiconYAMLEntries(t, e.children, depth-1, where+e.key+".")
	}
}

// renderLexiconYAML writes entries back as YAML, every key and value a
// double-quoted string: reading the result must give the same entries.
// It reports false when a key or value is not valid UTF-8, which YAML
// cannot carry.
func renderLexiconYAML(entries []lexiconYAMLEntry) ([]byte, bool) {
	str := func(s string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
	}
	var mapping func([]lexiconYAMLEntry) (*yaml.Node, bool)
	mapping = func(entries []lexiconYAMLEntry) (*yaml.Node, bool) {
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, e := range entries {
			if !utf8.ValidString(e.key) || !utf8.ValidString(e.value) {
				return nil, false
			}
			var v *yaml.Node
			switch {
			case e.isScalar:
				v = str(e.value)
			case e.children != nil:
				var ok bool
				if v, ok = mapping(e.children); !ok {
					return nil, false
				}
			default:
				// A sequence, or a mapping below the levels read: both
				// come back as neither scalar nor mapping.
				v = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
			}
			m.Content = append(m.Content, str(e.key), v)
		}
		return m, true
	}
	root, ok := mapping(entries)
	if !ok {
		return nil, false
	}
	out, err := yaml.Marshal(root)
	if err != nil {
		return nil, false
	}
	return out, true
}

// decodeLexiconYAMLTop decodes a document whose top level is a mapping with
// unique plain string keys into a map, with yaml.v3's own decoder: an
// oracle for the top level of readLexiconYAML's result. It reports false
// for other documents.
func decodeLexiconYAMLTop(data []byte) (map[string]yaml.Node, bool) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil, false
	}
	root := resolveAlias(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, false
	}
	for i := 0; i < len(root.Content); i += 2 {
		if resolveAlias(root.Content[i]).Tag != "!!str" {
			return nil, false // null, numeric, merge or complex keys
		}
	}
	var m map[string]yaml.Node
	if yaml.Unmarshal(data, &m) != nil { // e.g. a repeated key
		return nil, false
	}
	return m, true
}

func FuzzReadLexiconYAML(f *testing.F) {
	for _, s := range lexiconYAMLSeeds(f) {
		f.Add([]byte(s))
	}
	// One file per fuzzing process, rewritten by every input: inputs run
	// one after another.
	path := filepath.Join(f.TempDir(), "lexicon.yml")
	read := func(t *testing.T, data []byte) ([]lexiconYAMLEntry, error) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return readLexiconYAML(path)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := read(t, data)
		if err != nil {
			// The only errors are the two documented ones: the
			// file is readable.
			if entries != nil {
				t.Fatalf("entries %+v returned with error %v", entries, err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "not valid YAML: ") && !strings.HasPrefix(msg, "must be a mapping") {
				t.Fatalf("unexpected error: %v", err)
			}
		}
		again, err2 := read(t, data)
		if !reflect.DeepEqual(entries, again) || (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("two reads differ: %+v, %v then %+v, %v", entries, err, again, err2)
		}
		if err != nil || entries == nil {
			return
		}
		checkLexiconYAMLEntries(t, entries, 1, "")

		// The top level agrees with yaml.v3's decoder.
		if m, ok := decodeLexiconYAMLTop(data); ok {
			if len(m) != len(entries) {
				t.Fatalf("read %d entries, the decoder %d", len(entries), len(m))
			}
			for _, e := range entries {
				n, ok := m[e.key]
				if !ok {
					t.Fatalf("key %q is not in the decoded mapping", e.key)
				}
				v := resolveAlias(&n)
				want := v.Value
				if v.Tag == "!!null" {
					want = ""
				}
				switch {
				case (v.Kind == yaml.ScalarNode) != e.isScalar, (v.Kind == yaml.MappingNode) != (e.children != nil):
					t.Fatalf("%q: read as %+v, decoded as a node of kind %v", e.key, e, v.Kind)
				case e.isScalar && e.value != want:
					t.Fatalf("%q: value %q, decoded %q", e.key, e.value, want)
				}
			}
		}

		// What was read is what the file says: written back in a
		// canonical form, it reads the same.
		canonical, ok := renderLexiconYAML(entries)
		if !ok {
			return
		}
		back, err := read(t, canonical)
		if err != nil {
			t.Fatalf("canonical form %q: %v", canonical, err)
		}
		if !reflect.DeepEqual(back, entries) {
			t.Fatalf("canonical form %q read as %+v, want %+v", canonical, back, entries)
		}
	})
}

// legoVarName is the shape of every variable Translate sets.
var legoVarName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

func FuzzTranslateLexicon(f *testing.F) {
	// Providers are picked by number unless named, so that the fuzzer
	// reaches every table entry without guessing names.
	names := slices.Sorted(maps.Keys(lexiconProviders))
	names = append(names, slices.Sorted(maps.Keys(lexiconAliases))...)
	names = append(names, "") // the default
	index := func(name string) uint8 { return uint8(slices.Index(names, name)) }

	f.Add(index("cloudflare"), "", "cloudflare:\n  auth_token: t\n  auth_username: u\n", "", "_AUTH_TOKEN=tok\nCLOUDFLARE_DNS_API_TOKEN=env")
	f.Add(index("cloudflare"), "", "", "auth_token: t\n", "LEXICON_OPTIONS=--delegated sub.example.com\nLEXICON_TTL=120")
	f.Add(index("ovh"), "", "defaults: &d\n  auth_entrypoint: ovh-ca\novh: *d\ndelegated: ~\nttl: 3600\n", "auth_consumer_key: one\nauth_consumer_key: two\nauth_application_secret:\n", "_AUTH_ENTRYPOINT=ovh-eu\nOVH_APPLICATION_KEY_FILE=/k")
	f.Add(index("gandi"), "", "", "", "LEXICON_PROVIDER_OPTIONS=--auth-token=0123456789012345678901234 --api-protocol=rest")
	f.Add(index("route53"), "", "route53:\n  auth_username: AKIA\n  auth_token: s\n", "", "AWS_DEFAULT_REGION=eu-west-1")
	f.Add(index("googleclouddns"), "", "", "auth_service_account_info: base64::eyJhIjoxfQ==\n", "")
	f.Add(index("transip"), "", "", "auth_api_key: key.pem\n", "LEXICON_PROVIDER_OPTIONS=--auth-username me")
	f.Add(index("ddns"), "", "", "", "_AUTH_TOKEN=hmac-sha256:acme:c2VjcmV0")
	f.Add(index("zonomi"), "", "", "auth_entrypoint: rimuhosting\nauth_token: x\n", "")
	f.Add(index("dnsimple"), "", "", "", "_AUTH_USERNAME=me\n_AUTH_PASSWORD=pw\nLEXICON_TTL=soon")
	f.Add(index("ns1"), "", "", "", "_TOKEN=legacy\n_UNKNOWN=x")
	f.Add(index(""), "", "", "", "LEXICON_OPTIONS=--config-dir sub")
	f.Add(uint8(0), "cloudfare", "", "", "")
	f.Add(uint8(0), "auto", "", "", "")

	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, which uint8, named, globalYML, providerYML, envText string) {
		provider := named
		if provider == "" {
			provider = names[int(which)%len(names)]
		}
		name := strings.ToLower(strings.TrimSpace(provider))
		if name == "" {
			name = DefaultProvider
		}
		_, known := LegoProviderName(name)

		// The configuration files, removed again so that one input
		// never sees another's. An empty file is left out: it reads as
		// a missing one.
		files := map[string]string{"lexicon.yml": globalYML}
		if known {
			files["lexicon_"+name+".yml"] = providerYML
		}
		for file, content := range files {
			if content == "" {
				continue
			}
			p := filepath.Join(dir, file)
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(p)
		}

		// The environment: KEY=VALUE lines; a key starting with _ is
		// one of the provider's LEXICON_<PROVIDER>_ variables.
		env := map[string]string{}
		for line := range strings.SplitSeq(envText, "\n") {
			k, v, ok := strings.Cut(line, "=")
			if !ok || k == "" {
				continue
			}
			if strings.HasPrefix(k, "_") {
				k = "LEXICON_" + strings.ToUpper(name) + k
			}
			env[k] = v
		}
		getenv, environ := lexiconEnv(env)
		slices.Sort(environ)

		tr, err := Translate(provider, getenv, environ, dir)
		if (tr == nil) == (err == nil) {
			t.Fatalf("translation %+v with error %v: want exactly one", tr, err)
		}
		again, err2 := Translate(provider, getenv, environ, dir)
		if !reflect.DeepEqual(tr, again) || errText(err) != errText(err2) {
			t.Fatalf("two translations differ:\n%+v, %v\nthen\n%+v, %v", tr, err, again, err2)
		}
		if err != nil {
			joined, ok := err.(interface{ Unwrap() []error })
			if !ok || len(joined.Unwrap()) == 0 {
				t.Fatalf("error %v is not a joined list of problems", err)
			}
			for _, e := range joined.Unwrap() {
				var lexErr *Error
				if !errors.As(e, &lexErr) || lexErr.Source == "" {
					t.Fatalf("problem %v (%T) is not an *Error naming its source", e, e)
				}
			}
			return
		}

		// Only a provider certdock knows translates, to its lego name
		// (or, for providers with their own translation, another).
		lego, ok := LegoProviderName(name)
		if !ok {
			t.Fatalf("unknown provider %q translated to %+v", provider, tr)
		}
		if key, p := findLexiconProvider(name); tr.Provider != lego && p.translate == nil {
			t.Fatalf("provider %q (%s) translated to lego provider %q, want %q", provider, key, tr.Provider, lego)
		}
		seen := map[string]bool{}
		for _, v := range tr.Env {
			if !legoVarName.MatchString(v.Name) || seen[v.Name] {
				t.Fatalf("variable %q is malformed or set twice: %+v", v.Name, tr.Env)
			}
			seen[v.Name] = true
			if v.From == "" {
				t.Fatalf("%s does not say where it comes from", v.Name)
			}
			if v.Secret != legoVarIsSecret(v.Name) {
				t.Fatalf("%s: Secret = %v", v.Name, v.Secret)
			}
			// The environment always wins: a translated value is
			// applied only when nothing lego reads for it is set.
			settled := slices.ContainsFunc(legoCandidates(v.Name), func(c string) bool { return strings.TrimSpace(env[c]) != "" })
			if v.Kept != settled {
				t.Fatalf("%s: Kept = %v, but the environment settles it: %v", v.Name, v.Kept, settled)
			}
			if v.Kept && v.Value != env[v.Name] {
				t.Fatalf("%s is Kept with value %q, but the environment has %q", v.Name, v.Value, env[v.Name])
			}
		}
	})
}

// errText renders an error for comparison ("" for nil).
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
