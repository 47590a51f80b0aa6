package dnsrobocert

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/certdock/certdock/cert"
)

// maxNodes bounds the YAML nodes visited (aliases included), so a
// document of aliases cannot make the reader work without end.
const maxNodes = 100000

// Read substitutes ${VAR} (see Substitute), parses the YAML and validates
// it against dnsrobocert's schema: an unknown key, a value of the wrong
// type, a certificate naming a missing profile, a lineage used twice,
// acme.api_version 1 — each is an *Error naming the file, line and path.
// Every problem found is returned, joined; the Config is then nil.
func Read(file string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	data, err := Substitute(file, data, lookup)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, &Error{File: file, Err: errors.New("the configuration is empty")}
	}
	r := &reader{file: file}
	c := r.config(doc.Content[0])
	if len(r.errs) == 0 {
		r.business(c)
	}
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	return c, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns yaml.v3's "yaml: line N: msg" into FILE:N: msg.
func yamlError(file string, err error) error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: n, Err: fmt.Errorf("invalid YAML: %s", m[2])}
	}
	return &Error{File: file, Err: fmt.Errorf("invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))}
}

type reader struct {
	file  string
	errs  []error
	nodes int
}

func (r *reader) fail(n *yaml.Node, path, format string, args ...any) {
	r.errs = append(r.errs, &Error{File: r.file, Line: n.Line, Path: path, Err: fmt.Errorf(format, args...)})
}

// resolve follows aliases and counts nodes; nil once over maxNodes.
func (r *reader) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	r.nodes++
	if r.nodes > maxNodes {
		if r.nodes == maxNodes+1 {
			r.errs = append(r.errs, &Error{File: r.file, Err: fmt.Errorf("more than %d YAML nodes (aliases included)", maxNodes)})
		}
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mapping calls fn for each key of a mapping node, refusing keys not in
// known (the path names the key) and keys given twice.
func (r *reader) mapping(n *yaml.Node, path string, known []string, fn func(key string, v *yaml.Node, p string)) {
	if n = r.resolve(n); n == nil {
		return
	}
	if n.Kind != yaml.MappingNode {
		r.fail(n, path, "want a mapping (key: value lines), found %s", kind(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := r.resolve(n.Content[i]), n.Content[i+1]
		if k == nil {
			return
		}
		if k.Kind != yaml.ScalarNode {
			r.fail(k, path, "a key must be a plain word, found %s", kind(k))
			continue
		}
		p := join(path, k.Value)
		switch {
		case known != nil && !slices.Contains(known, k.Value):
			r.fail(k, p, "unknown key (known: %s)", strings.Join(known, ", "))
		case seen[k.Value]:
			r.fail(k, p, "given twice")
		default:
			seen[k.Value] = true
			fn(k.Value, v, p)
		}
	}
}

// sequence calls fn for each item of a sequence node.
func (r *reader) sequence(n *yaml.Node, path string, fn func(i int, v *yaml.Node, p string)) {
	if n = r.resolve(n); n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		r.fail(n, path, "want a list, found %s", kind(n))
		return
	}
	for i, v := range n.Content {
		fn(i, v, fmt.Sprintf("%s[%d]", path, i))
	}
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%s %q", strings.TrimPrefix(n.Tag, "!!"), n.Value)
	}
	return "something else"
}

// scalar returns a scalar's value when its tag is one of tags.
func (r *reader) scalar(n *yaml.Node, path, want string, tags ...string) (string, bool) {
	if n = r.resolve(n); n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || !slices.Contains(tags, n.Tag) {
		r.fail(n, path, "want %s, found %s", want, kind(n))
		return "", false
	}
	return n.Value, true
}

func (r *reader) str(n *yaml.Node, path string) string {
	v, _ := r.scalar(n, path, "a string", "!!str")
	return v
}

// strOrInt is a value the schema allows as integer or string (modes,
// owners).
func (r *reader) strOrInt(n *yaml.Node, path string) string {
	v, _ := r.scalar(n, path, "a string or an integer", "!!str", "!!int")
	return v
}

func (r *reader) boolean(n *yaml.Node, path string) bool {
	v, ok := r.scalar(n, path, "true or false", "!!bool")
	if !ok {
		return false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		r.fail(n, path, "want true or false, found %q", v)
	}
	return b
}

// integer reads a number of the schema (a whole one: seconds, counts).
func (r *reader) integer(n *yaml.Node, path string) *int {
	v, ok := r.scalar(n, path, "a number", "!!int", "!!float")
	if !ok {
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != float64(int(f)) || f < 0 || f > 1e9 {
		r.fail(n, path, "want a whole number of at least 0, found %q", v)
		return nil
	}
	i := int(f)
	return &i
}

func (r *reader) strings(n *yaml.Node, path string) []string {
	var out []string
	r.sequence(n, path, func(_ int, v *yaml.Node, p string) { out = append(out, r.str(v, p)) })
	return out
}

func (r *reader) config(n *yaml.Node) *Config {
	c := &Config{File: r.file}
	r.mapping(n, "", []string{"draft", "acme", "api", "profiles", "certificates"}, func(key string, v *yaml.Node, p string) {
		switch key {
		case "draft":
			c.Draft = r.boolean(v, p)
		case "acme":
			c.ACME = r.acme(v, p)
		case "api":
			r.mapping(v, p, nil, func(string, *yaml.Node, string) {}) // dnsrobocert ignores it too
		case "profiles":
			r.sequence(v, p, func(_ int, v *yaml.Node, p string) { c.Profiles = append(c.Profiles, r.profile(v, p)) })
		case "certificates":
			r.sequence(v, p, func(_ int, v *yaml.Node, p string) { c.Certificates = append(c.Certificates, r.certificate(v, p)) })
		}
	})
	return c
}

func (r *reader) acme(n *yaml.Node, path string) ACME {
	a := ACME{APIVersion: 2}
	r.mapping(n, path, []string{"email_account", "staging", "api_version", "directory_url", "certs_root_path", "certs_permissions", "crontab_renew"}, func(key string, v *yaml.Node, p string) {
		switch key {
		case "email_account":
			a.EmailAccount = r.str(v, p)
		case "staging":
			a.Staging = r.boolean(v, p)
		case "api_version":
			if i := r.integer(v, p); i != nil {
				switch *i {
				case 1:
					r.fail(v, p, "ACME v1 was shut down by Let's Encrypt in 2021; certdock only speaks ACME v2: set 2 or remove the key")
				case 2:
				default:
					r.fail(v, p, "want 1 or 2, found %d", *i)
				}
				a.APIVersion = *i
			}
		case "directory_url":
			a.DirectoryURL = r.str(v, p)
			if a.DirectoryURL != "" && !strings.HasPrefix(a.DirectoryURL, "https://") && !strings.HasPrefix(a.DirectoryURL, "http://") {
				r.fail(v, p, "%q is not a URL (https://…/directory)", a.DirectoryURL)
			}
		case "certs_root_path":
			a.CertsRootPath = r.str(v, p)
		case "certs_permissions":
			r.mapping(v, p, []string{"files_mode", "dirs_mode", "user", "group"}, func(key string, v *yaml.Node, p string) {
				switch key {
				case "files_mode":
					a.Permissions.FilesMode = r.mode(v, p)
				case "dirs_mode":
					a.Permissions.DirsMode = r.mode(v, p)
				case "user":
					a.Permissions.User = r.strOrInt(v, p)
				case "group":
					a.Permissions.Group = r.strOrInt(v, p)
				}
			})
		case "crontab_renew":
			a.CrontabRenew = r.str(v, p)
		}
	})
	return a
}

// mode reads files_mode / dirs_mode: an integer (YAML 0640 and 0o640 are
// octal; dnsrobocert's own example writes 0o640) or an octal string
// ("0640"), returned as octal digits.
func (r *reader) mode(n *yaml.Node, path string) string {
	v := r.strOrInt(n, path)
	if v == "" {
		return ""
	}
	if n.Tag == "!!int" {
		var i int64
		if err := n.Decode(&i); err != nil || i < 0 || i > 0o7777 {
			r.fail(n, path, "%q is not a file mode", v)
			return ""
		}
		return fmt.Sprintf("%04o", i)
	}
	i, err := strconv.ParseUint(strings.TrimPrefix(v, "0o"), 8, 32)
	if err != nil || i > 0o7777 {
		r.fail(n, path, "%q is not an octal file mode (e.g. \"0640\")", v)
		return ""
	}
	return fmt.Sprintf("%04o", i)
}

func (r *reader) profile(n *yaml.Node, path string) Profile {
	p := Profile{Line: n.Line}
	var hasName, hasProvider bool
	r.mapping(n, path, []string{"name", "provider", "provider_options", "sleep_time", "max_checks", "ttl", "delegated_subdomain", "dynamic_zone_resolution"}, func(key string, v *yaml.Node, kp string) {
		switch key {
		case "name":
			p.Name, hasName = r.str(v, kp), true
		case "provider":
			p.Provider, hasProvider = r.str(v, kp), true
		case "provider_options":
			p.Options = map[string]string{}
			r.mapping(v, kp, nil, func(key string, v *yaml.Node, op string) {
				val, _ := r.scalar(v, op, "a string, number or boolean", "!!str", "!!int", "!!float", "!!bool")
				p.Options[key] = val
			})
		case "sleep_time":
			p.SleepTime = r.integer(v, kp)
		case "max_checks":
			p.MaxChecks = r.integer(v, kp)
		case "ttl":
			p.TTL = r.integer(v, kp)
		case "delegated_subdomain":
			p.DelegatedSubdomain = r.str(v, kp)
		case "dynamic_zone_resolution":
			b := r.boolean(v, kp)
			p.DynamicZoneResolution = &b
		}
	})
	if n.Kind == yaml.MappingNode {
		if !hasName || p.Name == "" {
			r.fail(n, path, "a profile needs a name")
		}
		if !hasProvider || p.Provider == "" {
			r.fail(n, path, "a profile needs a provider")
		}
	}
	return p
}

func (r *reader) certificate(n *yaml.Node, path string) Certificate {
	c := Certificate{Line: n.Line}
	var hasDomains, hasProfile bool
	r.mapping(n, path, []string{"name", "domains", "profile", "pfx", "autorestart", "autocmd", "deploy_hook", "force_renew", "follow_cnames", "reuse_key", "key_type"}, func(key string, v *yaml.Node, p string) {
		switch key {
		case "name":
			c.Name = r.str(v, p)
		case "domains":
			hasDomains = true
			r.sequence(v, p, func(_ int, v *yaml.Node, dp string) {
				raw := r.str(v, dp)
				if raw == "" {
					return
				}
				d, err := cert.NormalizeDomain(raw)
				if err != nil {
					r.fail(v, dp, "%v", err)
					return
				}
				if !slices.Contains(c.Domains, d) {
					c.Domains = append(c.Domains, d)
				}
			})
		case "profile":
			c.Profile, hasProfile = r.str(v, p), true
		case "pfx":
			c.PFX = &PFX{}
			hasExport := false
			r.mapping(v, p, []string{"export", "passphrase"}, func(key string, v *yaml.Node, pp string) {
				if key == "export" {
					c.PFX.Export, hasExport = r.boolean(v, pp), true
				} else {
					c.PFX.Passphrase = r.str(v, pp)
				}
			})
			if !hasExport && r.resolve(v) != nil && v.Kind == yaml.MappingNode {
				r.fail(v, p, "pfx needs export (true or false)")
			}
		case "autorestart":
			r.sequence(v, p, func(_ int, v *yaml.Node, ap string) {
				a := Autorestart{Line: v.Line}
				r.mapping(v, ap, []string{"containers", "swarm_services", "podman_containers"}, func(key string, v *yaml.Node, kp string) {
					switch key {
					case "containers":
						a.Containers = r.strings(v, kp)
					case "swarm_services":
						a.SwarmServices = r.strings(v, kp)
					case "podman_containers":
						a.PodmanContainers = r.strings(v, kp)
					}
				})
				c.Autorestart = append(c.Autorestart, a)
			})
		case "autocmd":
			r.sequence(v, p, func(_ int, v *yaml.Node, ap string) {
				a := Autocmd{Line: v.Line}
				hasCmd := false
				r.mapping(v, ap, []string{"containers", "cmd"}, func(key string, v *yaml.Node, kp string) {
					if key == "containers" {
						a.Containers = r.strings(v, kp)
						return
					}
					hasCmd = true
					if rv := r.resolve(v); rv != nil && rv.Kind == yaml.SequenceNode {
						a.Cmd = r.strings(rv, kp)
					} else {
						a.Shell = r.str(v, kp)
					}
				})
				if !hasCmd && v.Kind == yaml.MappingNode {
					r.fail(v, ap, "autocmd needs cmd")
				}
				c.Autocmd = append(c.Autocmd, a)
			})
		case "deploy_hook":
			c.DeployHook = r.str(v, p)
		case "force_renew":
			c.ForceRenew = r.boolean(v, p)
		case "follow_cnames":
			c.FollowCNAMEs = r.boolean(v, p)
		case "reuse_key":
			c.ReuseKey = r.boolean(v, p)
		case "key_type":
			c.KeyType = r.str(v, p)
			if c.KeyType != "rsa" && c.KeyType != "ecdsa" {
				r.fail(v, p, "want rsa or ecdsa, found %q", c.KeyType)
			}
		}
	})
	if n.Kind == yaml.MappingNode {
		if !hasDomains || len(c.Domains) == 0 {
			r.fail(n, path, "a certificate needs domains")
		}
		if !hasProfile || c.Profile == "" {
			r.fail(n, path, "a certificate needs a profile")
		}
	}
	return c
}

// Lineage is the certificate's lineage name: name, else the first domain
// without "*.".
func (c Certificate) Lineage() string {
	if c.Name != "" {
		return strings.ToLower(c.Name)
	}
	if len(c.Domains) == 0 {
		return ""
	}
	return cert.LineageName(c.Domains[0])
}

// business checks what the schema cannot: profiles exist, lineages and
// profile names are unique, names are valid.
func (r *reader) business(c *Config) {
	names := map[string]int{}
	for i, p := range c.Profiles {
		if prev, dup := names[p.Name]; dup {
			r.errs = append(r.errs, &Error{File: r.file, Line: p.Line, Path: fmt.Sprintf("profiles[%d].name", i), Err: fmt.Errorf("profile %s is already declared at line %d", p.Name, prev)})
		}
		names[p.Name] = p.Line
	}
	lineages := map[string]int{}
	for i, ct := range c.Certificates {
		path := fmt.Sprintf("certificates[%d]", i)
		l := ct.Lineage()
		if err := cert.ValidName(l); err != nil {
			r.errs = append(r.errs, &Error{File: r.file, Line: ct.Line, Path: path + ".name", Err: err})
		}
		if prev, dup := lineages[l]; dup {
			r.errs = append(r.errs, &Error{File: r.file, Line: ct.Line, Path: path, Err: fmt.Errorf("certificate %s is already declared at line %d", l, prev)})
		}
		lineages[l] = ct.Line
		if _, ok := names[ct.Profile]; !ok {
			r.errs = append(r.errs, &Error{File: r.file, Line: ct.Line, Path: path + ".profile", Err: fmt.Errorf("profile %q used by certificate %s does not exist", ct.Profile, l)})
		}
	}
}
