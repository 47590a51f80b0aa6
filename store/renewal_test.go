package store

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
)

func TestRenewalConf(t *testing.T) {
	tests := []struct {
		name    string
		keyType cert.KeyType
		meta    func(*cert.IssueMeta)
		want    map[string]string // keys that must have these values; "" means absent
	}{
		{
			name:    "ec256",
			keyType: cert.EC256,
			want: map[string]string{
				"renewalparams.key_type":          "ecdsa",
				"renewalparams.elliptic_curve":    "secp256r1",
				"renewalparams.rsa_key_size":      "",
				"renewalparams.certdock_key_type": "ec256",
			},
		},
		{
			name:    "ec384",
			keyType: cert.EC384,
			want:    map[string]string{"renewalparams.key_type": "ecdsa", "renewalparams.elliptic_curve": "secp384r1"},
		},
		{
			name:    "rsa2048",
			keyType: cert.RSA2048,
			want: map[string]string{
				"renewalparams.key_type":       "rsa",
				"renewalparams.rsa_key_size":   "2048",
				"renewalparams.elliptic_curve": "",
			},
		},
		{
			name:    "no provider, profile or account",
			keyType: cert.EC256,
			meta: func(m *cert.IssueMeta) {
				m.Provider, m.Profile, m.Account = "", "", ""
			},
			want: map[string]string{
				"renewalparams.authenticator":    "",
				"renewalparams.account":          "",
				"renewalparams.certdock_profile": "",
			},
		},
		{
			name:    "values needing quotes",
			keyType: cert.EC256,
			meta: func(m *cert.IssueMeta) {
				m.Server = "https://ca.test/dir#frag"
				m.ReplaceID = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
				m.Profile = "a, b"
			},
			want: map[string]string{
				"renewalparams.server":            "https://ca.test/dir#frag",
				"renewalparams.certdock_profile":  "a, b",
				"renewalparams.certdock_replaces": "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(t.TempDir(), Options{})
			meta := testMeta()
			if tt.meta != nil {
				tt.meta(&meta)
			}
			const name = "example.com"
			l, err := d.Save(name, testBundle(t, bundleOpts{keyType: tt.keyType}), meta)
			if err != nil {
				t.Fatal(err)
			}
			if l.Server != meta.Server {
				t.Errorf("Lineage.Server = %q, want %q", l.Server, meta.Server)
			}
			data, err := os.ReadFile(filepath.Join(d.Root(), "renewal", name+".conf"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseRenewalConf(strings.NewReader(string(data)))
			if err != nil {
				t.Fatalf("parse own renewal file: %v\n%s", err, data)
			}
			live := d.LivePath(name)
			want := map[string]string{
				"version":                          confVersion,
				"archive_dir":                      filepath.Join(d.Root(), "archive", name),
				"cert":                             filepath.Join(live, "cert.pem"),
				"privkey":                          filepath.Join(live, "privkey.pem"),
				"chain":                            filepath.Join(live, "chain.pem"),
				"fullchain":                        filepath.Join(live, "fullchain.pem"),
				"renewalparams.server":             meta.Server,
				"renewalparams.account":            meta.Account,
				"renewalparams.authenticator":      "dns-rfc2136",
				"renewalparams.certdock_profile":   meta.Profile,
				"renewalparams.certdock_version":   "1",
				"renewalparams.certdock_issued_at": "2026-11-22T14:00:00Z",
			}
			if meta.Provider == "" {
				want["renewalparams.authenticator"] = ""
			}
			maps.Copy(want, tt.want)
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			if !strings.Contains(string(data), "\n[renewalparams]\n") {
				t.Errorf("no [renewalparams] section:\n%s", data)
			}
		})
	}
}

func TestLoadServerWithoutRenewalConf(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, p string)
	}{
		{name: "missing", damage: func(t *testing.T, p string) { remove(t, p) }},
		{name: "unparsable", damage: func(t *testing.T, p string) { write(t, p, []byte("[renewalparams\nserver = x\n")) }},
		{name: "unreadable", damage: func(t *testing.T, p string) {
			remove(t, p)
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(t.TempDir(), Options{})
			mustSave(t, d, "example.com", testBundle(t, bundleOpts{}))
			tt.damage(t, filepath.Join(d.Root(), "renewal", "example.com.conf"))
			l, err := d.Load("example.com")
			if err != nil {
				t.Fatal(err)
			}
			if l.Server != "" {
				t.Errorf("Server = %q, want empty", l.Server)
			}
		})
	}
}

func TestParseRenewalConf(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr bool
	}{
		{
			name: "certbot file",
			in: `# renew_before_expiry = 30 days
version = 2.11.0
archive_dir = /etc/letsencrypt/archive/example.com
cert = /etc/letsencrypt/live/example.com/cert.pem

# Options used in the renewal process
[renewalparams]
account = 0123abc
server = https://acme-v02.api.letsencrypt.org/directory
authenticator = dns-cloudflare
dns_cloudflare_credentials = /root/cf.ini
[[webroot_map]]
example.com = /var/www
`,
			want: map[string]string{
				"version":                     "2.11.0",
				"archive_dir":                 "/etc/letsencrypt/archive/example.com",
				"cert":                        "/etc/letsencrypt/live/example.com/cert.pem",
				"renewalparams.account":       "0123abc",
				"renewalparams.server":        "https://acme-v02.api.letsencrypt.org/directory",
				"renewalparams.authenticator": "dns-cloudflare",
				"renewalparams.dns_cloudflare_credentials": "/root/cf.ini",
				"webroot_map.example.com":                  "/var/www",
			},
		},
		{
			name: "quotes, inline comments, blanks",
			in:   "  a = \"x # y\"  \nb='q, r'\nc = plain # comment\nd =\ne = \"unterminated\n",
			want: map[string]string{"a": "x # y", "b": "q, r", "c": "plain", "d": "", "e": "\"unterminated"},
		},
		{name: "unterminated section", in: "[renewalparams\n", wantErr: true},
		{name: "no equals sign", in: "just words\n", wantErr: true},
		{name: "empty key", in: " = x\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRenewalConf(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !maps.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func FuzzParseRenewalConf(f *testing.F) {
	f.Add("version = 2.1.0\n[renewalparams]\nserver = https://x/dir\n")
	f.Add("a = 'b' # c\n[[x]]\n")
	f.Add("[\n")
	f.Fuzz(func(t *testing.T, s string) {
		conf, err := parseRenewalConf(strings.NewReader(s))
		if err != nil {
			return
		}
		for k := range conf {
			if k == "" {
				t.Fatalf("empty key from %q", s)
			}
		}
	})
}

func TestConfQuoteRoundTrip(t *testing.T) {
	for _, v := range []string{"plain", "a#b", "a, b", ` lead`, `has "double"`, `has 'single'`, "https://x/y?z=1"} {
		q, err := confQuote(v)
		if err != nil {
			t.Errorf("confQuote(%q): %v", v, err)
			continue
		}
		got, err := parseRenewalConf(strings.NewReader("k = " + q + "\n"))
		if err != nil || got["k"] != v {
			t.Errorf("%q -> %s -> %q (%v)", v, q, got["k"], err)
		}
	}
	for _, v := range []string{"line\nbreak", "tab\there", `both " and '`} {
		if _, err := confQuote(v); err == nil {
			t.Errorf("confQuote(%q) accepted", v)
		}
	}
}
