package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
)

// envOf turns a map into a getenv function.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFromEnvDefaults(t *testing.T) {
	c, err := FromEnv(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		DirectoryURL:  LetsEncryptProduction,
		Challenge:     ChallengeDNS01,
		Provider:      "cloudflare",
		KeyType:       cert.EC256,
		Dir:           "/etc/letsencrypt",
		LogLevel:      slog.LevelInfo,
		LogFormat:     "text",
		DirsMode:      0o750,
		FilesMode:     0o640,
		Workers:       8,
		CheckInterval: time.Hour,
		LabelPrefix:   "certdock",
		Cluster:       "none",
		State:         StateLocal,
		Cron:          mustSchedule(t, "12 01,13 * * *"),
		Location:      time.UTC,
		UID:           -1,
		GID:           -1,
		RevokeRemoved: true,
		LabelGrace:    7 * 24 * time.Hour,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if got := c.DomainsFile(); got != "/etc/letsencrypt/domains.conf" {
		t.Errorf("DomainsFile() = %q", got)
	}
}

func mustSchedule(t *testing.T, spec string) *Schedule {
	t.Helper()
	s, err := ParseSchedule(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeCA writes a PEM file holding a fresh self-signed certificate.
func writeCA(t *testing.T, dir, name string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFromEnv(t *testing.T) {
	dir := t.TempDir()
	ca1 := writeCA(t, dir, "ca1.pem")
	ca2 := writeCA(t, dir, "ca2.pem")
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keyOnly := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyOnly, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), 0o600); err != nil {
		t.Fatal(err)
	}
	badCert := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(badCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	sep := string(os.PathListSeparator)

	tests := []envCase{
		// LETSENCRYPT_USER_MAIL
		{name: "email", env: map[string]string{"LETSENCRYPT_USER_MAIL": "admin@example.org"}, check: func(c *Config) any { return c.Email }, want: "admin@example.org"},
		{name: "email with name", env: map[string]string{"LETSENCRYPT_USER_MAIL": " Admin <admin@example.org> "}, check: func(c *Config) any { return c.Email }, want: "admin@example.org"},
		{name: "seed default email means none", env: map[string]string{"LETSENCRYPT_USER_MAIL": "noreply@example.com"}, check: func(c *Config) any { return c.Email }, want: ""},
		{name: "seed default email any case", env: map[string]string{"LETSENCRYPT_USER_MAIL": "NoReply@Example.COM"}, check: func(c *Config) any { return c.Email }, want: ""},
		{name: "bad email", env: map[string]string{"LETSENCRYPT_USER_MAIL": "admin"}, wantErr: []string{`LETSENCRYPT_USER_MAIL: "admin" is not an e-mail address`}},
		{name: "two emails", env: map[string]string{"LETSENCRYPT_USER_MAIL": "a@example.org,b@example.org"}, wantErr: []string{`LETSENCRYPT_USER_MAIL: "a@example.org,b@example.org" is not an e-mail address`}},

		// LETSENCRYPT_STAGING and the directory
		{name: "staging", env: map[string]string{"LETSENCRYPT_STAGING": "true"}, check: func(c *Config) any { return []any{c.Staging, c.DirectoryURL} }, want: []any{true, LetsEncryptStaging}},
		{name: "staging yes", env: map[string]string{"LETSENCRYPT_STAGING": "YES"}, check: func(c *Config) any { return c.Staging }, want: true},
		{name: "staging on", env: map[string]string{"LETSENCRYPT_STAGING": "On"}, check: func(c *Config) any { return c.Staging }, want: true},
		{name: "staging 1", env: map[string]string{"LETSENCRYPT_STAGING": "1"}, check: func(c *Config) any { return c.Staging }, want: true},
		{name: "staging false", env: map[string]string{"LETSENCRYPT_STAGING": "False"}, check: func(c *Config) any { return []any{c.Staging, c.DirectoryURL} }, want: []any{false, LetsEncryptProduction}},
		{name: "staging off", env: map[string]string{"LETSENCRYPT_STAGING": "off"}, check: func(c *Config) any { return c.Staging }, want: false},
		{name: "staging no", env: map[string]string{"LETSENCRYPT_STAGING": "no"}, check: func(c *Config) any { return c.Staging }, want: false},
		{name: "staging 0", env: map[string]string{"LETSENCRYPT_STAGING": "0"}, check: func(c *Config) any { return c.Staging }, want: false},
		{name: "staging blank", env: map[string]string{"LETSENCRYPT_STAGING": "  "}, check: func(c *Config) any { return c.Staging }, want: false},
		{name: "bad staging", env: map[string]string{"LETSENCRYPT_STAGING": "maybe"}, wantErr: []string{`LETSENCRYPT_STAGING: "maybe" is not a boolean`}},
		{name: "directory url wins over staging", env: map[string]string{"LETSENCRYPT_STAGING": "true", "ACME_DIRECTORY_URL": "https://localhost:14000/dir"}, check: func(c *Config) any { return c.DirectoryURL }, want: "https://localhost:14000/dir"},
		{name: "http directory url", env: map[string]string{"ACME_DIRECTORY_URL": "http://pebble:14000/dir"}, check: func(c *Config) any { return c.DirectoryURL }, want: "http://pebble:14000/dir"},
		{name: "relative directory url", env: map[string]string{"ACME_DIRECTORY_URL": "/dir"}, wantErr: []string{`ACME_DIRECTORY_URL: "/dir" is not an absolute http(s) URL`}},
		{name: "ftp directory url", env: map[string]string{"ACME_DIRECTORY_URL": "ftp://x/dir"}, wantErr: []string{`ACME_DIRECTORY_URL: "ftp://x/dir" is not an absolute http(s) URL`}},
		{name: "directory url without host", env: map[string]string{"ACME_DIRECTORY_URL": "https:///dir"}, wantErr: []string{`ACME_DIRECTORY_URL: "https:///dir" is not an absolute http(s) URL`}},
		{name: "unparsable directory url", env: map[string]string{"ACME_DIRECTORY_URL": "https://[::1"}, wantErr: []string{`ACME_DIRECTORY_URL: "https://[::1" is not an absolute http(s) URL`}},

		// LETSENCRYPT_ACME_V1
		{name: "acme v1 false", env: map[string]string{"LETSENCRYPT_ACME_V1": "false"}, check: func(c *Config) any { return c.DirectoryURL }, want: LetsEncryptProduction},
		{name: "acme v1 true", env: map[string]string{"LETSENCRYPT_ACME_V1": "true"}, wantErr: []string{"LETSENCRYPT_ACME_V1: ACME v1 was shut down by Let's Encrypt in 2021", "ACME v2 (RFC 8555)"}},
		{name: "bad acme v1", env: map[string]string{"LETSENCRYPT_ACME_V1": "v1"}, wantErr: []string{`LETSENCRYPT_ACME_V1: "v1" is not a boolean`}},

		// ACME_CA_CERTIFICATES / LEGO_CA_CERTIFICATES
		{name: "ca certificates", env: map[string]string{"ACME_CA_CERTIFICATES": ca1 + sep + ca2}, check: func(c *Config) any { return c.CACertificates }, want: []string{ca1, ca2}},
		{name: "ca certificates with commas and repeats", env: map[string]string{"ACME_CA_CERTIFICATES": ca1 + ", " + ca2 + "," + ca1}, check: func(c *Config) any { return c.CACertificates }, want: []string{ca1, ca2}},
		{name: "lego ca certificates", env: map[string]string{"LEGO_CA_CERTIFICATES": ca2}, check: func(c *Config) any { return c.CACertificates }, want: []string{ca2}},
		{name: "acme ca certificates win", env: map[string]string{"ACME_CA_CERTIFICATES": ca1, "LEGO_CA_CERTIFICATES": missing}, check: func(c *Config) any { return c.CACertificates }, want: []string{ca1}},
		{name: "missing ca file", env: map[string]string{"ACME_CA_CERTIFICATES": ca1 + sep + missing}, wantErr: []string{`ACME_CA_CERTIFICATES: "` + missing + `": open`, "no such file"}},
		{name: "lego missing ca file", env: map[string]string{"LEGO_CA_CERTIFICATES": missing}, wantErr: []string{`LEGO_CA_CERTIFICATES: "` + missing + `"`}},
		{name: "ca file without pem", env: map[string]string{"ACME_CA_CERTIFICATES": notPEM}, wantErr: []string{`ACME_CA_CERTIFICATES: "` + notPEM + `" holds no PEM certificate`}},
		{name: "ca file with only a key", env: map[string]string{"ACME_CA_CERTIFICATES": keyOnly}, wantErr: []string{`ACME_CA_CERTIFICATES: "` + keyOnly + `" holds no PEM certificate`}},
		{name: "ca file with a broken certificate", env: map[string]string{"ACME_CA_CERTIFICATES": badCert}, wantErr: []string{`ACME_CA_CERTIFICATES: "` + badCert + `": certificate 1:`}},
		{name: "ca directory", env: map[string]string{"ACME_CA_CERTIFICATES": dir}, wantErr: []string{`ACME_CA_CERTIFICATES: "` + dir + `"`}},

		// DNS_PROVIDER / LEXICON_PROVIDER
		{name: "dns provider", env: map[string]string{"DNS_PROVIDER": " Route53 "}, check: func(c *Config) any { return []string{c.Provider, c.ProviderVar} }, want: []string{"route53", "DNS_PROVIDER"}},
		{name: "lexicon provider", env: map[string]string{"LEXICON_PROVIDER": "OVH"}, check: func(c *Config) any { return []string{c.Provider, c.ProviderVar} }, want: []string{"ovh", "LEXICON_PROVIDER"}},
		{name: "dns provider wins", env: map[string]string{"DNS_PROVIDER": "rfc2136", "LEXICON_PROVIDER": "ovh"}, check: func(c *Config) any { return []string{c.Provider, c.ProviderVar} }, want: []string{"rfc2136", "DNS_PROVIDER"}},
		{name: "default provider", env: map[string]string{"LEXICON_PROVIDER": " "}, check: func(c *Config) any { return []string{c.Provider, c.ProviderVar} }, want: []string{"cloudflare", ""}},
		{name: "bad dns provider", env: map[string]string{"DNS_PROVIDER": "cloud flare"}, wantErr: []string{`DNS_PROVIDER: "cloud flare" is not a DNS provider name`}},
		{name: "bad lexicon provider", env: map[string]string{"LEXICON_PROVIDER": "ovh/eu"}, wantErr: []string{`LEXICON_PROVIDER: "ovh/eu" is not a DNS provider name`}},

		// ACME_KEY_TYPE, ACME_PROFILE
		{name: "key type", env: map[string]string{"ACME_KEY_TYPE": "RSA4096"}, check: func(c *Config) any { return c.KeyType }, want: cert.RSA4096},
		{name: "key type alias", env: map[string]string{"ACME_KEY_TYPE": "p384"}, check: func(c *Config) any { return c.KeyType }, want: cert.EC384},
		{name: "bad key type", env: map[string]string{"ACME_KEY_TYPE": "dsa"}, wantErr: []string{`ACME_KEY_TYPE: unknown key type "dsa"`}},
		{name: "profile", env: map[string]string{"ACME_PROFILE": "shortlived"}, check: func(c *Config) any { return c.Profile }, want: "shortlived"},
		{name: "bad profile", env: map[string]string{"ACME_PROFILE": "short lived"}, wantErr: []string{`ACME_PROFILE: "short lived" is not an ACME profile name`}},

		// CERTDOCK_DIR
		{name: "dir", env: map[string]string{"CERTDOCK_DIR": "/data/le/"}, check: func(c *Config) any { return []string{c.Dir, c.DomainsFile()} }, want: []string{"/data/le", "/data/le/domains.conf"}},
		{name: "relative dir", env: map[string]string{"CERTDOCK_DIR": "le"}, check: func(c *Config) any { return c.Dir }, want: filepath.Join(cwd, "le")},

		// DNS_RESOLVERS
		{name: "resolvers", env: map[string]string{"DNS_RESOLVERS": "1.1.1.1, 8.8.8.8:5353 ns1.example.com\t[2001:db8::1]:53,2001:db8::2 [2001:db8::3] 1.1.1.1:53"},
			check: func(c *Config) any { return c.Resolvers },
			want:  []string{"1.1.1.1:53", "8.8.8.8:5353", "ns1.example.com:53", "[2001:db8::1]:53", "[2001:db8::2]:53", "[2001:db8::3]:53"}},
		{name: "resolver port range", env: map[string]string{"DNS_RESOLVERS": "127.0.0.1:65535"}, check: func(c *Config) any { return c.Resolvers }, want: []string{"127.0.0.1:65535"}},
		{name: "resolver port 0", env: map[string]string{"DNS_RESOLVERS": "1.1.1.1:0"}, wantErr: []string{`DNS_RESOLVERS: "1.1.1.1:0": port must be a number from 1 to 65535`}},
		{name: "resolver port too big", env: map[string]string{"DNS_RESOLVERS": "1.1.1.1:65536"}, wantErr: []string{`DNS_RESOLVERS: "1.1.1.1:65536": port must be`}},
		{name: "docker embedded DNS refused", env: map[string]string{"DNS_RESOLVERS": "127.0.0.11"}, wantErr: []string{`DNS_RESOLVERS: "127.0.0.11" is Docker's embedded DNS`}},
		{name: "resolver empty port", env: map[string]string{"DNS_RESOLVERS": "1.1.1.1:"}, wantErr: []string{`DNS_RESOLVERS: "1.1.1.1:": port must be`}},
		{name: "resolver signed port", env: map[string]string{"DNS_RESOLVERS": "1.1.1.1:+53"}, wantErr: []string{`DNS_RESOLVERS: "1.1.1.1:+53": port must be`}},
		{name: "resolver empty host", env: map[string]string{"DNS_RESOLVERS": ":53"}, wantErr: []string{`DNS_RESOLVERS: ":53": empty host`}},
		{name: "resolver bad host", env: map[string]string{"DNS_RESOLVERS": "ns_1..example.com"}, wantErr: []string{`DNS_RESOLVERS: "ns_1..example.com": "ns_1..example.com" is not a host name or IP address`}},
		{name: "resolver ipv4 in brackets", env: map[string]string{"DNS_RESOLVERS": "[1.1.1.1]:53"}, wantErr: []string{`DNS_RESOLVERS: "[1.1.1.1]:53": only IPv6 addresses go in brackets`}},
		{name: "resolver unclosed bracket", env: map[string]string{"DNS_RESOLVERS": "[2001:db8::1"}, wantErr: []string{`DNS_RESOLVERS: "[2001:db8::1": missing "]"`}},
		{name: "resolver junk after bracket", env: map[string]string{"DNS_RESOLVERS": "[2001:db8::1]53"}, wantErr: []string{`DNS_RESOLVERS: "[2001:db8::1]53": expected ":port" after "]"`}},
		{name: "resolver bad ipv6", env: map[string]string{"DNS_RESOLVERS": "2001:db8::g"}, wantErr: []string{`DNS_RESOLVERS: "2001:db8::g" is not an IPv6 address`}},
		{name: "every bad resolver", env: map[string]string{"DNS_RESOLVERS": "a:0 b:x"}, wantErr: []string{`DNS_RESOLVERS: "a:0"`, `DNS_RESOLVERS: "b:x"`}},

		// LEXICON_SLEEP_TIME
		{name: "sleep time", env: map[string]string{"LEXICON_SLEEP_TIME": "30"}, check: func(c *Config) any { return c.SleepTime }, want: 30 * time.Second},
		{name: "sleep time zero", env: map[string]string{"LEXICON_SLEEP_TIME": "0"}, check: func(c *Config) any { return c.SleepTime }, want: time.Duration(0)},
		{name: "negative sleep time", env: map[string]string{"LEXICON_SLEEP_TIME": "-1"}, wantErr: []string{`LEXICON_SLEEP_TIME: "-1" is not a whole number of seconds`}},
		{name: "duration sleep time", env: map[string]string{"LEXICON_SLEEP_TIME": "30s"}, wantErr: []string{`LEXICON_SLEEP_TIME: "30s" is not a whole number of seconds`}},
		{name: "huge sleep time", env: map[string]string{"LEXICON_SLEEP_TIME": "99999999999"}, wantErr: []string{`LEXICON_SLEEP_TIME: "99999999999": more than a day`}},

		// CERTDOCK_LOG_LEVEL, CERTDOCK_LOG_FORMAT
		{name: "log level debug", env: map[string]string{"CERTDOCK_LOG_LEVEL": "DEBUG"}, check: func(c *Config) any { return c.LogLevel }, want: slog.LevelDebug},
		{name: "log level warn", env: map[string]string{"CERTDOCK_LOG_LEVEL": "warn"}, check: func(c *Config) any { return c.LogLevel }, want: slog.LevelWarn},
		{name: "log level warning", env: map[string]string{"CERTDOCK_LOG_LEVEL": "Warning"}, check: func(c *Config) any { return c.LogLevel }, want: slog.LevelWarn},
		{name: "log level error", env: map[string]string{"CERTDOCK_LOG_LEVEL": "error"}, check: func(c *Config) any { return c.LogLevel }, want: slog.LevelError},
		{name: "log level info", env: map[string]string{"CERTDOCK_LOG_LEVEL": "info"}, check: func(c *Config) any { return c.LogLevel }, want: slog.LevelInfo},
		{name: "bad log level", env: map[string]string{"CERTDOCK_LOG_LEVEL": "trace"}, wantErr: []string{`CERTDOCK_LOG_LEVEL: "trace" is not a log level`}},
		{name: "log format json", env: map[string]string{"CERTDOCK_LOG_FORMAT": "JSON"}, check: func(c *Config) any { return c.LogFormat }, want: "json"},
		{name: "log format text", env: map[string]string{"CERTDOCK_LOG_FORMAT": "text"}, check: func(c *Config) any { return c.LogFormat }, want: "text"},
		{name: "bad log format", env: map[string]string{"CERTDOCK_LOG_FORMAT": "logfmt"}, wantErr: []string{`CERTDOCK_LOG_FORMAT: "logfmt" is not a log format`}},

		// CERTS_DIRS_MODE, CERTS_FILES_MODE
		{name: "modes", env: map[string]string{"CERTS_DIRS_MODE": "0755", "CERTS_FILES_MODE": "644"}, check: func(c *Config) any { return []fs.FileMode{c.DirsMode, c.FilesMode} }, want: []fs.FileMode{0o755, 0o644}},
		{name: "mode with 0o", env: map[string]string{"CERTS_FILES_MODE": "0o600"}, check: func(c *Config) any { return c.FilesMode }, want: fs.FileMode(0o600)},
		{name: "mode zero", env: map[string]string{"CERTS_FILES_MODE": "0"}, check: func(c *Config) any { return c.FilesMode }, want: fs.FileMode(0)},
		{name: "mode not octal", env: map[string]string{"CERTS_FILES_MODE": "0999"}, wantErr: []string{`CERTS_FILES_MODE: "0999" is not an octal file mode`}},
		{name: "mode words", env: map[string]string{"CERTS_DIRS_MODE": "rwxr-x---"}, wantErr: []string{`CERTS_DIRS_MODE: "rwxr-x---" is not an octal file mode`}},
		{name: "mode sticky", env: map[string]string{"CERTS_DIRS_MODE": "1777"}, wantErr: []string{`CERTS_DIRS_MODE: "1777" has bits other than the permission bits`}},
		{name: "mode negative", env: map[string]string{"CERTS_FILES_MODE": "-640"}, wantErr: []string{`CERTS_FILES_MODE: "-640" is not an octal file mode`}},

		// CERTDOCK_WORKERS, CERTDOCK_CHECK_INTERVAL
		{name: "workers", env: map[string]string{"CERTDOCK_WORKERS": "1"}, check: func(c *Config) any { return c.Workers }, want: 1},
		{name: "workers max", env: map[string]string{"CERTDOCK_WORKERS": "64"}, check: func(c *Config) any { return c.Workers }, want: 64},
		{name: "workers zero", env: map[string]string{"CERTDOCK_WORKERS": "0"}, wantErr: []string{`CERTDOCK_WORKERS: "0" is not a number from 1 to 64`}},
		{name: "workers too many", env: map[string]string{"CERTDOCK_WORKERS": "65"}, wantErr: []string{`CERTDOCK_WORKERS: "65" is not a number from 1 to 64`}},
		{name: "workers word", env: map[string]string{"CERTDOCK_WORKERS": "many"}, wantErr: []string{`CERTDOCK_WORKERS: "many" is not a number`}},
		{name: "key type given", env: map[string]string{"ACME_KEY_TYPE": "rsa2048"}, check: func(c *Config) any { return c.KeyTypeSet }, want: true},
		{name: "listen", env: map[string]string{"CERTDOCK_LISTEN": ":9090"}, check: func(c *Config) any { return c.Listen }, want: ":9090"},
		{name: "bad listen", env: map[string]string{"CERTDOCK_LISTEN": "9090"}, wantErr: []string{"CERTDOCK_LISTEN: \"9090\": want host:port"}},
		{name: "label prefix", env: map[string]string{"CERTDOCK_LABEL_PREFIX": "acme.certs"}, check: func(c *Config) any { return c.LabelPrefix }, want: "acme.certs"},
		{name: "bad label prefix", env: map[string]string{"CERTDOCK_LABEL_PREFIX": "Cert Dock"}, wantErr: []string{"CERTDOCK_LABEL_PREFIX: "}},
		{name: "allowed domains", env: map[string]string{"CERTDOCK_ALLOWED_DOMAINS": "*.example.com, example.org"}, check: func(c *Config) any { return c.AllowedDomains.String() }, want: "*.example.com,example.org"},
		{name: "bad allowed domains", env: map[string]string{"CERTDOCK_ALLOWED_DOMAINS": "a..b"}, wantErr: []string{"CERTDOCK_ALLOWED_DOMAINS: "}},
		{name: "traefik labels", env: map[string]string{"CERTDOCK_TRAEFIK_LABELS": "true"}, check: func(c *Config) any { return c.TraefikLabels }, want: true},
		{name: "traefik labels off", env: nil, check: func(c *Config) any { return c.TraefikLabels }, want: false},
		{name: "dnsrobocert config", env: map[string]string{"CERTDOCK_DNSROBOCERT_CONFIG": "/a/config.yml", "CONFIG_PATH": "/b/config.yml"}, check: func(c *Config) any { return c.DnsrobocertConfig }, want: "/a/config.yml"},
		{name: "dnsrobocert CONFIG_PATH", env: map[string]string{"CONFIG_PATH": "/b/config.yml"}, check: func(c *Config) any { return c.DnsrobocertConfig }, want: "/b/config.yml"},
		{name: "bad traefik labels", env: map[string]string{"CERTDOCK_TRAEFIK_LABELS": "maybe"}, wantErr: []string{"CERTDOCK_TRAEFIK_LABELS: "}},
		{name: "swarm", env: map[string]string{"DOCKER_CLUSTER_PROVIDER": "Swarm"}, check: func(c *Config) any { return c.Cluster }, want: "swarm"},
		{name: "bad cluster", env: map[string]string{"DOCKER_CLUSTER_PROVIDER": "nomad"}, wantErr: []string{"DOCKER_CLUSTER_PROVIDER: \"nomad\": use none or swarm"}},
		{name: "check interval", env: map[string]string{"CERTDOCK_CHECK_INTERVAL": "12h"}, check: func(c *Config) any { return c.CheckInterval }, want: 12 * time.Hour},
		{name: "check interval minimum", env: map[string]string{"CERTDOCK_CHECK_INTERVAL": "1m"}, check: func(c *Config) any { return c.CheckInterval }, want: time.Minute},
		{name: "check interval too short", env: map[string]string{"CERTDOCK_CHECK_INTERVAL": "59s"}, wantErr: []string{`CERTDOCK_CHECK_INTERVAL: "59s" is shorter than 1m0s`}},
		{name: "check interval without unit", env: map[string]string{"CERTDOCK_CHECK_INTERVAL": "3600"}, wantErr: []string{`CERTDOCK_CHECK_INTERVAL: "3600" is not a duration`}},

		// ACME_EAB_KID, ACME_EAB_HMAC
		{name: "eab", env: map[string]string{"ACME_EAB_KID": "kid-1", "ACME_EAB_HMAC": "c2VjcmV0LWtleQ=="}, check: func(c *Config) any { return []string{c.EABKID, c.EABHMAC} }, want: []string{"kid-1", "c2VjcmV0LWtleQ"}},
		{name: "eab kid only", env: map[string]string{"ACME_EAB_KID": "kid-1"}, wantErr: []string{"ACME_EAB_HMAC: must be set when ACME_EAB_KID is"}},
		{name: "eab hmac only", env: map[string]string{"ACME_EAB_HMAC": "c2VjcmV0"}, wantErr: []string{"ACME_EAB_KID: must be set when ACME_EAB_HMAC is"}},
		{name: "eab hmac not base64url", env: map[string]string{"ACME_EAB_KID": "kid-1", "ACME_EAB_HMAC": "se+cr/et!"}, wantErr: []string{"ACME_EAB_HMAC: is not base64url-encoded (value not shown)"}},
		{name: "eab hmac only padding", env: map[string]string{"ACME_EAB_KID": "kid-1", "ACME_EAB_HMAC": "=="}, wantErr: []string{"ACME_EAB_HMAC: is empty once padding is removed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runEnvCase(t, tt, false, "se+cr/et!") })
	}
}

// envCase is one FromEnv table test.
type envCase struct {
	name  string
	env   map[string]string
	check func(*Config) any // returns the field under test
	want  any
	// wantErr lists substrings of the error; each problem must also
	// start with its variable's name.
	wantErr []string
}

// runEnvCase runs FromEnv on tt.env and checks its result. With
// exactCount, the error holds exactly one problem per wantErr entry; no
// string of secrets may appear in an error.
func runEnvCase(t *testing.T, tt envCase, exactCount bool, secrets ...string) {
	t.Helper()
	c, err := FromEnv(envOf(tt.env))
	if tt.wantErr != nil {
		if err == nil {
			t.Fatalf("no error, config %+v", c)
		}
		if c != nil {
			t.Errorf("config %+v returned with an error", c)
		}
		for _, w := range tt.wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
		if problems := err.(interface{ Unwrap() []error }).Unwrap(); exactCount && len(problems) != len(tt.wantErr) {
			t.Errorf("%d problems, want %d: %v", len(problems), len(tt.wantErr), err)
		}
		for _, secret := range secrets {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows a secret", err)
			}
		}
		checkNamesVariable(t, err, tt.env)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := tt.check(c); !reflect.DeepEqual(got, tt.want) {
		t.Errorf("got %#v, want %#v", got, tt.want)
	}
}

// checkNamesVariable checks that every joined problem is an *EnvError for
// one of the variables the test set and that its message starts with it.
func checkNamesVariable(t *testing.T, err error, env map[string]string) {
	t.Helper()
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ee *EnvError
		if !errors.As(e, &ee) {
			t.Errorf("problem %q is not an *EnvError", e)
			continue
		}
		if _, ok := env[ee.Var]; !ok && !strings.HasPrefix(ee.Var, "ACME_EAB_") {
			t.Errorf("problem %q names %s, which the test did not set", e, ee.Var)
		}
		if !strings.HasPrefix(e.Error(), ee.Var+": ") {
			t.Errorf("problem %q does not start with its variable", e)
		}
	}
}

func TestFromEnvReportsEveryProblem(t *testing.T) {
	env := map[string]string{
		"LETSENCRYPT_USER_MAIL":   "nobody",
		"LETSENCRYPT_STAGING":     "perhaps",
		"LETSENCRYPT_ACME_V1":     "true",
		"ACME_DIRECTORY_URL":      "localhost",
		"ACME_CA_CERTIFICATES":    "/nonexistent/ca.pem",
		"DNS_PROVIDER":            "a b",
		"ACME_KEY_TYPE":           "ed25519",
		"ACME_PROFILE":            "x y",
		"DNS_RESOLVERS":           "1.1.1.1:0",
		"LEXICON_SLEEP_TIME":      "soon",
		"CERTDOCK_LOG_LEVEL":      "loud",
		"CERTDOCK_LOG_FORMAT":     "xml",
		"CERTS_DIRS_MODE":         "0888",
		"CERTS_FILES_MODE":        "0999",
		"CERTDOCK_WORKERS":        "100",
		"CERTDOCK_CHECK_INTERVAL": "1s",
		"ACME_EAB_KID":            "kid",
		"CRON_TIME_STRING":        "daily",
		"TZ":                      "Paris",
		"PFX_EXPORT":              "maybe",
		"PFX_EXPORT_PASSPHRASE":   "a\x00b",
		"PFX_EXPORT_ENCODING":     "rc2",
		"CERTS_USER_OWNER":        "no-such-user-certdock",
		"CERTS_GROUP_OWNER":       "a:b",
		"DEPLOY_HOOK":             "\x07",
		"CERTDOCK_REVOKE_REMOVED": "2",
		"CERTDOCK_LABEL_GRACE":    "a week",
		"CERTDOCK_ON_FAILURE":     "'",
		"ACME_REUSE_KEY":          "sure",
		"DELEGATED_DOMAIN":        "*.x.example",
		"DELEGATED_SUBDOMAIN":     "a..b",
	}
	c, err := FromEnv(envOf(env))
	if err == nil || c != nil {
		t.Fatalf("FromEnv = %+v, %v; want nil and an error", c, err)
	}
	problems := err.(interface{ Unwrap() []error }).Unwrap()
	named := map[string]bool{}
	for _, p := range problems {
		var ee *EnvError
		if !errors.As(p, &ee) {
			t.Fatalf("problem %q is not an *EnvError", p)
		}
		named[ee.Var] = true
	}
	for v := range env {
		if !named[v] && v != "ACME_EAB_KID" {
			t.Errorf("no problem reported for %s; got:\n%v", v, err)
		}
	}
	if !named["ACME_EAB_HMAC"] {
		t.Errorf("missing ACME_EAB_HMAC not reported; got:\n%v", err)
	}
	if got, want := len(problems), len(env); got != want {
		t.Errorf("got %d problems, want %d:\n%v", got, want, err)
	}
}

func TestSummary(t *testing.T) {
	c, err := FromEnv(envOf(map[string]string{
		"LETSENCRYPT_USER_MAIL": "admin@example.org",
		"LEXICON_PROVIDER":      "ovh",
		"ACME_EAB_KID":          "kid-1",
		"ACME_EAB_HMAC":         "c2VjcmV0LWtleQ",
		"DNS_RESOLVERS":         "1.1.1.1 8.8.8.8",
		"LEXICON_SLEEP_TIME":    "30",
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range c.Summary() {
		if _, dup := got[kv.Key]; dup {
			t.Errorf("key %q listed twice", kv.Key)
		}
		got[kv.Key] = kv.Value
		if strings.Contains(kv.Value, "c2VjcmV0") {
			t.Errorf("%s shows the EAB MAC key: %q", kv.Key, kv.Value)
		}
	}
	want := map[string]string{
		"email":               "admin@example.org",
		"acme directory":      LetsEncryptProduction,
		"staging":             "false",
		"ca certificates":     "(none)",
		"dns provider":        "ovh (from LEXICON_PROVIDER)",
		"key type":            "ec256",
		"profile":             "(none)",
		"data directory":      "/etc/letsencrypt",
		"domains file":        "/etc/letsencrypt/domains.conf",
		"dns resolvers":       "1.1.1.1:53, 8.8.8.8:53",
		"sleep time":          "30s",
		"log level":           "info",
		"log format":          "text",
		"dirs mode":           "0750",
		"files mode":          "0640",
		"workers":             "8",
		"check interval":      "1h0m0s",
		"challenge":           "dns-01",
		"label prefix":        "certdock",
		"listen":              "(none)",
		"allowed domains":     "(any: labels may request every name)",
		"traefik labels":      "false",
		"dnsrobocert config":  "(none)",
		"cluster provider":    "none",
		"state":               "local",
		"eab kid":             "kid-1",
		"eab hmac":            "***",
		"renewal schedule":    "12 01,13 * * *",
		"time zone":           "UTC",
		"pfx export":          "false",
		"pfx passphrase":      "(none)",
		"pfx encoding":        "modern",
		"certs user owner":    "(unchanged)",
		"certs group owner":   "(unchanged)",
		"deploy hook":         "(none)",
		"revoke removed":      "true",
		"label grace":         "7d",
		"on failure":          "(none)",
		"reuse key":           "false",
		"delegated domain":    "(none)",
		"delegated subdomain": "(none)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Summary:\n got %v\nwant %v", got, want)
	}

	d, err := FromEnv(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range d.Summary() {
		switch kv.Key {
		case "email":
			if !strings.HasPrefix(kv.Value, "(none") {
				t.Errorf("email = %q", kv.Value)
			}
		case "dns provider":
			if kv.Value != "cloudflare (default)" {
				t.Errorf("dns provider = %q", kv.Value)
			}
		case "eab hmac":
			if kv.Value != "(none)" {
				t.Errorf("eab hmac = %q", kv.Value)
			}
		}
	}
}

func TestEnvError(t *testing.T) {
	inner := errors.New("bad")
	err := error(&EnvError{Var: "X", Err: inner})
	if err.Error() != "X: bad" || !errors.Is(err, inner) {
		t.Errorf("EnvError = %q, Is = %v", err, errors.Is(err, inner))
	}
}
