package lexicon

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func TestLegoProviderName(t *testing.T) {
	tests := []struct {
		lexicon string
		want    string
	}{
		{"cloudflare", "cloudflare"},
		{"route53", "route53"},
		{"ovh", "ovh"},
		{"digitalocean", "digitalocean"},
		{"gandi", "gandiv5"},
		{"godaddy", "godaddy"},
		{"namecheap", "namecheap"},
		{"linode", "linode"},
		{"linode4", "linode"},
		{"hetzner", "hetzner"},
		{"dnsimple", "dnsimple"},
		{"googleclouddns", "gcloud"},
		{"azure", "azuredns"},
		{"nsone", "ns1"},
		{"ns1", "ns1"},
		{"vultr", "vultr"},
		{"porkbun", "porkbun"},
		{"cloudns", "cloudns"},
		{"dnsmadeeasy", "dnsmadeeasy"},
		{"gehirn", "gehirn"},
		{"inwx", "inwx"},
		{"namesilo", "namesilo"},
		{"netcup", "netcup"},
		{"njalla", "njalla"},
		{"transip", "transip"},
		{"hostingde", "hostingde"},
		{"powerdns", "pdns"},
		{"ddns", "dnsupdate"},
		{"aliyun", "alidns"},
		{"aurora", "auroradns"},
		{"namecom", "namedotcom"},
		{"nfsn", "nearlyfreespeech"},
		{"online", "onlinenet"},
		{"qcloud", "tencentcloud"},
		{"timeweb", "timewebcloud"},
		{"zeit", "vercel"},
		{"oci", "oraclecloud"},
		{" GANDI ", "gandiv5"},
	}
	for _, tt := range tests {
		got, ok := LegoProviderName(tt.lexicon)
		if !ok || got != tt.want {
			t.Errorf("LegoProviderName(%q) = %q, %v; want %q", tt.lexicon, got, ok, tt.want)
		}
	}
	for _, name := range []string{"auto", "localzone", "hover", "", "gandiv5"} {
		if got, ok := LegoProviderName(name); ok {
			t.Errorf("LegoProviderName(%q) = %q, want none", name, got)
		}
	}
}

// legoProvidersDir is lego's providers/dns directory in the module cache,
// or "" (the test is then skipped).
func legoProvidersDir(t *testing.T) string {
	t.Helper()
	out, err := osexec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/go-acme/lego/v5").Output()
	if err != nil {
		t.Skipf("lego's module directory is unavailable: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "providers", "dns")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("lego's providers are unavailable: %v", err)
	}
	return dir
}

// Every Lexicon provider maps to a provider lego has.
func TestLexiconProvidersExistInLego(t *testing.T) {
	dir := legoProvidersDir(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	lego := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() {
			lego[e.Name()] = true
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range lexiconProviders {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range append(names, "ns1", "rimuhosting-via-zonomi") {
		got, ok := LegoProviderName(name)
		if name == "rimuhosting-via-zonomi" {
			got, ok = "rimuhosting", true
		}
		if !ok {
			t.Errorf("%s: no lego name", name)
			continue
		}
		if !lego[got] {
			t.Errorf("Lexicon's %s maps to %q, which is not a lego provider", name, got)
		}
	}
}

// legoVarNames reads the environment variable names a lego provider
// package defines: string constants, and constants built as
// envNamespace + "SUFFIX" (one level of concatenation of constants), in
// the package and its internal packages; plus the names its .toml
// documentation lists.
func legoVarNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	consts := map[string]string{}
	type concat struct{ name, left, right string }
	var pending []concat
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, id := range spec.Names {
				if i >= len(spec.Values) {
					break
				}
				switch e := spec.Values[i].(type) {
				case *ast.BasicLit:
					if s, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
						consts[id.Name] = s
					}
				case *ast.BinaryExpr:
					left := exprText(e.X)
					right := exprText(e.Y)
					pending = append(pending, concat{id.Name, left, right})
				case *ast.SelectorExpr:
					// hetzner: EnvAPIToken = hetznerv1.EnvAPIToken
					pending = append(pending, concat{id.Name, exprText(e.Sel), ""})
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	value := func(s string) (string, bool) {
		if u, err := strconv.Unquote(s); err == nil {
			return u, true
		}
		v, ok := consts[s]
		return v, ok
	}
	for range 3 { // constants built from constants built from constants
		for _, c := range pending {
			l, okL := value(c.left)
			r, okR := "", true
			if c.right != "" {
				r, okR = value(c.right)
			}
			if okL && okR {
				consts[c.name] = l + r
			}
		}
	}
	names := map[string]bool{}
	for _, v := range consts {
		names[v] = true
	}
	tomls, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
	for _, file := range tomls {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?m)^\s*([A-Z0-9_]+)\s*=`).FindAllStringSubmatch(string(data), -1) {
			names[m[1]] = true
		}
	}
	return names
}

func exprText(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Value
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}

// lexiconTestValue is a plausible value for a Lexicon option.
func lexiconTestValue(provider, option string) string {
	switch option {
	case "auth_service_account_info":
		return "file::/etc/letsencrypt/sa.json"
	case "pdns_server", "endpoint", "api_endpoint", "plesk_server":
		return "https://api.example.com"
	case "auth_entrypoint":
		if provider == "zonomi" {
			return "zonomi"
		}
		return "ovh-eu"
	case "api_protocol":
		return "rest"
	}
	if provider == "ddns" && option == "auth_token" {
		return "hmac-sha256:key:c2VjcmV0"
	}
	return "true"
}

// Every lego variable a translation may produce exists in lego's source
// for the provider it translates to. Each provider is translated with
// every option that can be translated, plus variants for options that
// choose between variables.
func TestLexiconVariablesExistInLego(t *testing.T) {
	dir := legoProvidersDir(t)
	cache := map[string]map[string]bool{}
	check := func(t *testing.T, tr *Translation) {
		t.Helper()
		names, ok := cache[tr.Provider]
		if !ok {
			names = legoVarNames(t, filepath.Join(dir, tr.Provider))
			cache[tr.Provider] = names
		}
		for _, e := range tr.Env {
			if !names[e.Name] {
				t.Errorf("%s: lego's %s provider has no variable %s", e.From, tr.Provider, e.Name)
			}
		}
	}
	type variant struct {
		provider string
		env      map[string]string
	}
	var variants []variant
	for name, p := range lexiconProviders {
		env := map[string]string{"LEXICON_TTL": "300"}
		for _, o := range p.options {
			if o.fail == "" {
				env["LEXICON_"+strings.ToUpper(name)+"_"+strings.ToUpper(o.name)] = lexiconTestValue(name, o.name)
			}
		}
		variants = append(variants, variant{name, env})
	}
	variants = append(variants,
		variant{"cloudflare", map[string]string{"LEXICON_CLOUDFLARE_AUTH_TOKEN": "t"}},
		variant{"gandi", map[string]string{"LEXICON_GANDI_AUTH_TOKEN": strings.Repeat("p", 40)}},
		variant{"zonomi", map[string]string{"LEXICON_ZONOMI_AUTH_TOKEN": "k", "LEXICON_ZONOMI_AUTH_ENTRYPOINT": "rimuhosting", "LEXICON_TTL": "300"}},
		variant{"googleclouddns", map[string]string{"LEXICON_GOOGLECLOUDDNS_AUTH_SERVICE_ACCOUNT_INFO": "base64::e30="}},
		variant{"route53", map[string]string{"LEXICON_ROUTE53_AUTH_USERNAME": "a", "LEXICON_ROUTE53_AUTH_TOKEN": "b"}},
	)
	sort.Slice(variants, func(i, j int) bool { return variants[i].provider < variants[j].provider })
	for _, vr := range variants {
		t.Run(vr.provider, func(t *testing.T) {
			getenv, environ := lexiconEnv(vr.env)
			tr, err := Translate(vr.provider, getenv, environ, "/etc/letsencrypt")
			if err != nil {
				t.Fatal(err)
			}
			if lexiconProviders[vr.provider].options != nil && len(tr.Env) == 0 {
				t.Errorf("nothing translated from %v", vr.env)
			}
			check(t, tr)
		})
	}
}

// The table is consistent: each option has one fate, names are unique,
// custom options have a translate function.
func TestLexiconProviderTable(t *testing.T) {
	for name, p := range lexiconProviders {
		if p.lego == "" {
			t.Errorf("%s: no lego name", name)
		}
		if name != strings.ToLower(name) {
			t.Errorf("%s: not lower case", name)
		}
		seen := map[string]bool{}
		for _, o := range p.options {
			if seen[o.name] {
				t.Errorf("%s: option %s listed twice", name, o.name)
			}
			seen[o.name] = true
			fates := 0
			for _, set := range []bool{o.to != "", o.fail != "", o.note != "", o.custom, o.quiet} {
				if set {
					fates++
				}
			}
			if fates != 1 {
				t.Errorf("%s: option %s has %d fates, want 1", name, o.name, fates)
			}
			if o.custom && p.translate == nil {
				t.Errorf("%s: option %s is custom but the provider has no translate function", name, o.name)
			}
			if slices.Contains(lexiconBaseOptions, o.name) {
				t.Errorf("%s: option %s clashes with Lexicon's base options", name, o.name)
			}
		}
	}
	for alias, target := range lexiconAliases {
		if lexiconProviders[target] == nil || lexiconProviders[alias] != nil {
			t.Errorf("alias %s → %s is broken", alias, target)
		}
	}
}
