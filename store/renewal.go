package store

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/certdock/certdock/cert"
)

// confVersion is the certbot version recorded in renewal files. Certbot
// compares it with its own version and only warns when the file is newer,
// so this is the oldest certbot whose renewal format the file follows. It
// must be a valid PEP 440 version: newer certbots refuse anything else.
const confVersion = "2.1.0"

// confPrefix marks certdock's own keys in [renewalparams]; certbot ignores
// keys it does not know.
const confPrefix = "certdock_"

// renewalPath is renewal/<name>.conf relative to the root.
func renewalPath(name string) string { return path.Join(renewalDir, name+".conf") }

// renewalConf renders a certbot-compatible renewal/<name>.conf for the
// lineage. kt is the key type of the saved key.
func (d *Dir) renewalConf(name string, version int, kt cert.KeyType, meta cert.IssueMeta) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	put := func(key, value string) {
		if value == "" || err != nil {
			return
		}
		var q string
		if q, err = confQuote(value); err != nil {
			err = fmt.Errorf("renewal conf %s: %v", key, err)
			return
		}
		fmt.Fprintf(&buf, "%s = %s\n", key, q)
	}
	live := filepath.Join(d.root, liveDir, name)
	buf.WriteString("# renew_before_expiry = 30 days\n")
	buf.WriteString("# Written by certdock in certbot's format; keys starting with " + confPrefix + " are certdock's own.\n")
	put("version", confVersion)
	put("archive_dir", filepath.Join(d.root, archiveDir, name))
	put("cert", filepath.Join(live, "cert.pem"))
	put("privkey", filepath.Join(live, "privkey.pem"))
	put("chain", filepath.Join(live, "chain.pem"))
	put("fullchain", filepath.Join(live, "fullchain.pem"))
	buf.WriteString("\n# Options used in the renewal process\n[renewalparams]\n")
	put("account", meta.Account)
	put("server", meta.Server)
	if meta.Provider != "" {
		put("authenticator", "dns-"+meta.Provider)
	}
	switch kt {
	case cert.EC256:
		put("key_type", "ecdsa")
		put("elliptic_curve", "secp256r1")
	case cert.EC384:
		put("key_type", "ecdsa")
		put("elliptic_curve", "secp384r1")
	case cert.RSA2048, cert.RSA3072, cert.RSA4096, cert.RSA8192:
		put("key_type", "rsa")
		put("rsa_key_size", strings.TrimPrefix(string(kt), "rsa"))
	}
	put(confPrefix+"key_type", string(kt))
	put(confPrefix+"profile", meta.Profile)
	put(confPrefix+"version", strconv.Itoa(version))
	if !meta.IssuedAt.IsZero() {
		put(confPrefix+"issued_at", meta.IssuedAt.UTC().Format(time.RFC3339))
	}
	put(confPrefix+"cert_url", meta.CertURL)
	put(confPrefix+"replaces", meta.ReplaceID)
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// confQuote renders a value the way certbot's configobj reads it back:
// bare when it can, quoted when it contains a comment sign, a list comma,
// quotes or surrounding blanks. Line breaks cannot be represented.
func confQuote(v string) (string, error) {
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			return "", fmt.Errorf("value contains control character %U", c)
		}
	}
	if !strings.ContainsAny(v, "#,\"'") && strings.TrimSpace(v) == v {
		return v, nil
	}
	switch {
	case !strings.Contains(v, `"`):
		return `"` + v + `"`, nil
	case !strings.Contains(v, `'`):
		return `'` + v + `'`, nil
	}
	return "", fmt.Errorf("value %q contains both quote characters", v)
}

// confUnquote strips matching quotes, or an inline comment from a bare value.
func confUnquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
		if end := strings.IndexByte(v[1:], v[0]); end >= 0 {
			return v[1 : 1+end]
		}
	}
	if i := strings.IndexByte(v, '#'); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v
}

// readServer returns the ACME directory URL recorded for a lineage, or ""
// when the renewal file is missing or unreadable.
func readServer(r *os.Root, name string) string {
	data, err := r.ReadFile(renewalPath(name))
	if err != nil || len(data) > 1<<20 {
		return ""
	}
	return renewalServer(data)
}

// renewalServer finds renewalparams.server in a renewal file as
// parseRenewalConf would, without building the whole map (Load reads it
// for every lineage). A malformed file gives "".
func renewalServer(data []byte) string {
	section, server := "", ""
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		s := strings.TrimSpace(string(line))
		switch {
		case s == "" || s[0] == '#':
			continue
		case s[0] == '[':
			if !strings.HasSuffix(s, "]") {
				return ""
			}
			section = strings.TrimSpace(strings.Trim(s, "[]"))
			continue
		}
		key, value, ok := strings.Cut(s, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return ""
		}
		if section == "renewalparams" && key == "server" {
			server = confUnquote(strings.TrimSpace(value))
		}
	}
	return server
}
