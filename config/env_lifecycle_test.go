package config

import (
	"os"
	"os/user"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// someUser finds a user and a group other than root in the system
// database, with their ids; ok is false where there is none.
func someUser() (uname string, uid int, gname string, gid int, ok bool) {
	for _, name := range []string{"daemon", "bin", "nobody", "sys"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(g.Gid)
		if err1 == nil && err2 == nil {
			return u.Username, uid, g.Name, gid, true
		}
	}
	return "", 0, "", 0, false
}

func TestFromEnvLifecycle(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr\x01t-pass"

	type test = envCase
	tests := []test{
		// CRON_TIME_STRING, TZ
		{name: "cron", env: map[string]string{"CRON_TIME_STRING": "0 4 * * SUN"}, check: func(c *Config) any { return c.Cron.String() }, want: "0 4 * * SUN"},
		{name: "cron next in TZ", env: map[string]string{"CRON_TIME_STRING": "30 2 * * *", "TZ": "Europe/Paris"},
			check: func(c *Config) any {
				return c.Cron.Next(time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC).In(c.Location)).UTC()
			},
			want: time.Date(2026, 3, 30, 0, 30, 0, 0, time.UTC)},
		{name: "cron blank is the default", env: map[string]string{"CRON_TIME_STRING": "  "}, check: func(c *Config) any { return c.Cron.String() }, want: DefaultCron},
		{name: "cron macro", env: map[string]string{"CRON_TIME_STRING": "@daily"}, check: func(c *Config) any { return c.Cron.String() }, want: "@daily"},
		{name: "bad cron", env: map[string]string{"CRON_TIME_STRING": "12 01,13 * *"}, wantErr: []string{`CRON_TIME_STRING: "12 01,13 * *" has 4 fields`}},
		{name: "bad cron field", env: map[string]string{"CRON_TIME_STRING": "61 * * * *"}, wantErr: []string{`CRON_TIME_STRING: "61 * * * *": minute: 61 is outside 0–59`}},
		{name: "cron never matches", env: map[string]string{"CRON_TIME_STRING": "0 0 30 2 *"}, wantErr: []string{`CRON_TIME_STRING: "0 0 30 2 *" never matches`}},
		{name: "tz", env: map[string]string{"TZ": "Europe/Paris"}, check: func(c *Config) any { return c.Location.String() }, want: "Europe/Paris"},
		{name: "tz with colon", env: map[string]string{"TZ": ":America/New_York"}, check: func(c *Config) any { return c.Location.String() }, want: "America/New_York"},
		{name: "tz utc", env: map[string]string{"TZ": "UTC"}, check: func(c *Config) any { return c.Location.String() }, want: "UTC"},
		{name: "tz offset", env: map[string]string{"TZ": "Europe/Paris"}, check: func(c *Config) any {
			_, off := time.Date(2026, 7, 1, 0, 0, 0, 0, c.Location).Zone()
			return off
		}, want: 2 * 3600},
		{name: "bad tz", env: map[string]string{"TZ": "Mars/Olympus"}, wantErr: []string{`TZ: "Mars/Olympus" is not a time zone name`}},
		{name: "posix tz string", env: map[string]string{"TZ": "CET-1CEST,M3.5.0,M10.5.0/3"}, wantErr: []string{`TZ: "CET-1CEST,M3.5.0,M10.5.0/3" is not a time zone name`}},
		{name: "tz path traversal", env: map[string]string{"TZ": "../../etc/passwd"}, wantErr: []string{`TZ: "../../etc/passwd" is not a time zone name`}},
		{name: "tz file missing", env: map[string]string{"TZ": "/nonexistent/zone"}, wantErr: []string{`TZ: "/nonexistent/zone": open`}},
		{name: "tz file not tzif", env: map[string]string{"TZ": "/etc/hostname"}, wantErr: []string{`TZ: "/etc/hostname" is not a time zone file`}},

		// PFX_EXPORT, PFX_EXPORT_PASSPHRASE, PFX_EXPORT_ENCODING
		{name: "pfx", env: map[string]string{"PFX_EXPORT": "true", "PFX_EXPORT_PASSPHRASE": " p@ss w0rd€ ", "PFX_EXPORT_ENCODING": "Legacy"},
			check: func(c *Config) any { return []any{c.PFXExport, c.PFXPassphrase, c.PFXLegacy} }, want: []any{true, "p@ss w0rd€", true}},
		{name: "pfx modern", env: map[string]string{"PFX_EXPORT": "1", "PFX_EXPORT_ENCODING": "modern"},
			check: func(c *Config) any { return []any{c.PFXExport, c.PFXPassphrase, c.PFXLegacy} }, want: []any{true, "", false}},
		{name: "bad pfx export", env: map[string]string{"PFX_EXPORT": "pkcs12"}, wantErr: []string{`PFX_EXPORT: "pkcs12" is not a boolean`}},
		{name: "pfx passphrase control character", env: map[string]string{"PFX_EXPORT_PASSPHRASE": secret}, wantErr: []string{"PFX_EXPORT_PASSPHRASE: contains a control character (value not shown)"}},
		{name: "pfx passphrase bad utf-8", env: map[string]string{"PFX_EXPORT_PASSPHRASE": "s3cr\xfft-pass"}, wantErr: []string{"PFX_EXPORT_PASSPHRASE: is not valid UTF-8 (value not shown)"}},
		{name: "bad pfx encoding", env: map[string]string{"PFX_EXPORT_ENCODING": "aes"}, wantErr: []string{`PFX_EXPORT_ENCODING: "aes": use modern`}},

		// CERTS_USER_OWNER, CERTS_GROUP_OWNER
		{name: "numeric owners", env: map[string]string{"CERTS_USER_OWNER": "1000", "CERTS_GROUP_OWNER": "0"}, check: func(c *Config) any { return []int{c.UID, c.GID} }, want: []int{1000, 0}},
		{name: "largest id", env: map[string]string{"CERTS_USER_OWNER": "4294967294"}, check: func(c *Config) any { return c.UID }, want: 4294967294},
		{name: "root by name", env: map[string]string{"CERTS_USER_OWNER": "root", "CERTS_GROUP_OWNER": "root"}, check: func(c *Config) any { return []int{c.UID, c.GID} }, want: []int{0, 0}},
		{name: "id -1 is unchanged", env: map[string]string{"CERTS_USER_OWNER": "-1", "CERTS_GROUP_OWNER": "-1"}, check: func(c *Config) any { return []int{c.UID, c.GID} }, want: []int{-1, -1}},
		{name: "id -2", env: map[string]string{"CERTS_USER_OWNER": "-2"}, wantErr: []string{`CERTS_USER_OWNER: "-2" is not a user name or numeric id`}},
		{name: "id too big", env: map[string]string{"CERTS_GROUP_OWNER": "4294967295"}, wantErr: []string{`CERTS_GROUP_OWNER: "4294967295" is not a group id (0 to 4294967294)`}},
		{name: "id with letters", env: map[string]string{"CERTS_USER_OWNER": "1000x"}, wantErr: []string{`CERTS_USER_OWNER: "1000x" is not a user id`}},
		{name: "user:group", env: map[string]string{"CERTS_USER_OWNER": "www-data:www-data"}, wantErr: []string{`CERTS_USER_OWNER: "www-data:www-data" is not a user name or numeric id`}},
		{name: "unknown user", env: map[string]string{"CERTS_USER_OWNER": "no-such-user-certdock"}, wantErr: []string{`CERTS_USER_OWNER: no user named "no-such-user-certdock" on this system`}},
		{name: "unknown group", env: map[string]string{"CERTS_GROUP_OWNER": "no-such-group-certdock"}, wantErr: []string{`CERTS_GROUP_OWNER: no group named "no-such-group-certdock" on this system`}},

		// DEPLOY_HOOK
		{name: "deploy hook", env: map[string]string{"DEPLOY_HOOK": `create-nginx-certs && echo "$RENEWED_DOMAINS" | tee -a /log`},
			check: func(c *Config) any { return c.DeployHook }, want: `create-nginx-certs && echo "$RENEWED_DOMAINS" | tee -a /log`},
		{name: "multi-line deploy hook", env: map[string]string{"DEPLOY_HOOK": "a\n\tb"}, check: func(c *Config) any { return c.DeployHook }, want: "a\n\tb"},
		{name: "deploy hook control character", env: map[string]string{"DEPLOY_HOOK": "a\x1bb"}, wantErr: []string{"DEPLOY_HOOK: contains the control character U+001B"}},

		// CERTDOCK_REVOKE_REMOVED, CERTDOCK_LABEL_GRACE
		{name: "revoke removed off", env: map[string]string{"CERTDOCK_REVOKE_REMOVED": "false"}, check: func(c *Config) any { return c.RevokeRemoved }, want: false},
		{name: "revoke removed on", env: map[string]string{"CERTDOCK_REVOKE_REMOVED": "yes"}, check: func(c *Config) any { return c.RevokeRemoved }, want: true},
		{name: "bad revoke removed", env: map[string]string{"CERTDOCK_REVOKE_REMOVED": "sometimes"}, wantErr: []string{`CERTDOCK_REVOKE_REMOVED: "sometimes" is not a boolean`}},
		{name: "grace days", env: map[string]string{"CERTDOCK_LABEL_GRACE": "30d"}, check: func(c *Config) any { return c.LabelGrace }, want: 30 * 24 * time.Hour},
		{name: "grace duration", env: map[string]string{"CERTDOCK_LABEL_GRACE": "36h30m"}, check: func(c *Config) any { return c.LabelGrace }, want: 36*time.Hour + 30*time.Minute},
		{name: "grace zero", env: map[string]string{"CERTDOCK_LABEL_GRACE": "0"}, check: func(c *Config) any { return c.LabelGrace }, want: time.Duration(0)},
		{name: "grace zero days", env: map[string]string{"CERTDOCK_LABEL_GRACE": "0d"}, check: func(c *Config) any { return c.LabelGrace }, want: time.Duration(0)},
		{name: "negative grace", env: map[string]string{"CERTDOCK_LABEL_GRACE": "-1h"}, wantErr: []string{`CERTDOCK_LABEL_GRACE: "-1h" is negative`}},
		{name: "negative grace days", env: map[string]string{"CERTDOCK_LABEL_GRACE": "-7d"}, wantErr: []string{`CERTDOCK_LABEL_GRACE: "-7d" is not a number of days`}},
		{name: "fractional days", env: map[string]string{"CERTDOCK_LABEL_GRACE": "1.5d"}, wantErr: []string{`CERTDOCK_LABEL_GRACE: "1.5d" is not a number of days (e.g. 7d) or a duration (e.g. 36h)`}},
		{name: "grace without unit", env: map[string]string{"CERTDOCK_LABEL_GRACE": "7"}, wantErr: []string{`CERTDOCK_LABEL_GRACE: "7" is not a number of days`}},
		{name: "grace overflow", env: map[string]string{"CERTDOCK_LABEL_GRACE": "200000d"}, wantErr: []string{`CERTDOCK_LABEL_GRACE: "200000d" is not a number of days`}},

		// CERTDOCK_ON_FAILURE
		{name: "on failure", env: map[string]string{"CERTDOCK_ON_FAILURE": `notify --title 'cert failed' "a \"b\"" c\ d`},
			check: func(c *Config) any { return c.OnFailure }, want: []string{"notify", "--title", "cert failed", `a "b"`, "c d"}},
		{name: "on failure keeps shell syntax literal", env: map[string]string{"CERTDOCK_ON_FAILURE": "echo $HOME | cat"},
			check: func(c *Config) any { return c.OnFailure }, want: []string{"echo", "$HOME", "|", "cat"}},
		{name: "on failure unterminated quote", env: map[string]string{"CERTDOCK_ON_FAILURE": `notify "oops`}, wantErr: []string{"CERTDOCK_ON_FAILURE: unterminated double quote: the \" at character 8 is never closed"}},
		{name: "on failure empty command", env: map[string]string{"CERTDOCK_ON_FAILURE": `''`}, wantErr: []string{"CERTDOCK_ON_FAILURE: empty command"}},

		// ACME_REUSE_KEY
		{name: "reuse key", env: map[string]string{"ACME_REUSE_KEY": "true"}, check: func(c *Config) any { return c.ReuseKey }, want: true},
		{name: "bad reuse key", env: map[string]string{"ACME_REUSE_KEY": "always"}, wantErr: []string{`ACME_REUSE_KEY: "always" is not a boolean`}},

		// DELEGATED_DOMAIN, DELEGATED_SUBDOMAIN
		{name: "delegated both", env: map[string]string{"DELEGATED_DOMAIN": "Delegated.COM.", "DELEGATED_SUBDOMAIN": "acme.delegated.com"},
			check: func(c *Config) any { return []string{c.DelegatedDomain, c.DelegatedSubdomain} }, want: []string{"delegated.com", "acme.delegated.com"}},
		{name: "delegated domain only", env: map[string]string{"DELEGATED_DOMAIN": "delegated.com"},
			check: func(c *Config) any { return []string{c.DelegatedDomain, c.DelegatedSubdomain} }, want: []string{"delegated.com", "delegated.com"}},
		{name: "delegated subdomain only", env: map[string]string{"DELEGATED_SUBDOMAIN": "acme.delegated.com"},
			check: func(c *Config) any { return []string{c.DelegatedDomain, c.DelegatedSubdomain} }, want: []string{"acme.delegated.com", "acme.delegated.com"}},
		{name: "delegated idna", env: map[string]string{"DELEGATED_DOMAIN": "bücher.example"},
			check: func(c *Config) any { return c.DelegatedDomain }, want: "xn--bcher-kva.example"},
		{name: "delegated same", env: map[string]string{"DELEGATED_DOMAIN": "d.example", "DELEGATED_SUBDOMAIN": "D.example"},
			check: func(c *Config) any { return []string{c.DelegatedDomain, c.DelegatedSubdomain} }, want: []string{"d.example", "d.example"}},
		{name: "bad delegated domain", env: map[string]string{"DELEGATED_DOMAIN": "a..b"}, wantErr: []string{`DELEGATED_DOMAIN: "a..b"`}},
		{name: "bad delegated subdomain", env: map[string]string{"DELEGATED_SUBDOMAIN": "-x.example"}, wantErr: []string{`DELEGATED_SUBDOMAIN: "-x.example"`}},
		{name: "wildcard delegated domain", env: map[string]string{"DELEGATED_DOMAIN": "*.delegated.com"}, wantErr: []string{`DELEGATED_DOMAIN: "*.delegated.com": a delegated name cannot be a wildcard`}},
		{name: "subdomain outside domain", env: map[string]string{"DELEGATED_DOMAIN": "delegated.com", "DELEGATED_SUBDOMAIN": "acme.notdelegated.com"},
			wantErr: []string{`DELEGATED_SUBDOMAIN: "acme.notdelegated.com" is not DELEGATED_DOMAIN "delegated.com" or a name under it`}},
		{name: "subdomain sharing only a suffix", env: map[string]string{"DELEGATED_DOMAIN": "delegated.com", "DELEGATED_SUBDOMAIN": "xdelegated.com"},
			wantErr: []string{`DELEGATED_SUBDOMAIN: "xdelegated.com" is not DELEGATED_DOMAIN`}},
		{name: "bad domain does not blame subdomain", env: map[string]string{"DELEGATED_DOMAIN": "a..b", "DELEGATED_SUBDOMAIN": "acme.delegated.com"},
			wantErr: []string{`DELEGATED_DOMAIN: "a..b"`}},
	}
	if uname, uid, gname, gid, ok := someUser(); ok {
		tests = append(tests, test{name: "owners by name", env: map[string]string{"CERTS_USER_OWNER": uname, "CERTS_GROUP_OWNER": gname},
			check: func(c *Config) any { return []int{c.UID, c.GID} }, want: []int{uid, gid}})
	}
	if _, err := os.Stat("/usr/share/zoneinfo/Europe/Paris"); err == nil {
		tests = append(tests, test{name: "tz file", env: map[string]string{"TZ": "/usr/share/zoneinfo/Europe/Paris"},
			check: func(c *Config) any {
				return time.Date(2026, 7, 1, 0, 0, 0, 0, c.Location).Equal(time.Date(2026, 7, 1, 0, 0, 0, 0, paris))
			}, want: true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runEnvCase(t, tt, true, "s3cr") })
	}
}

func TestSummaryLifecycle(t *testing.T) {
	c, err := FromEnv(envOf(map[string]string{
		"CRON_TIME_STRING":      "0 4 * * *",
		"TZ":                    "Europe/Paris",
		"PFX_EXPORT":            "true",
		"PFX_EXPORT_PASSPHRASE": "hunter2-secret",
		"PFX_EXPORT_ENCODING":   "legacy",
		"CERTS_USER_OWNER":      "1000",
		"CERTS_GROUP_OWNER":     "root",
		"DEPLOY_HOOK":           "create-nginx-certs",
		"CERTDOCK_LABEL_GRACE":  "36h",
		"CERTDOCK_ON_FAILURE":   `notify 'cert failed' plain "it's"`,
		"ACME_REUSE_KEY":        "true",
		"DELEGATED_DOMAIN":      "delegated.com",
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range c.Summary() {
		got[kv.Key] = kv.Value
		if strings.Contains(kv.Value, "hunter2") {
			t.Errorf("%s shows the PFX passphrase: %q", kv.Key, kv.Value)
		}
	}
	want := map[string]string{
		"renewal schedule":    "0 4 * * *",
		"time zone":           "Europe/Paris",
		"pfx export":          "true",
		"pfx passphrase":      "***",
		"pfx encoding":        "legacy",
		"certs user owner":    "1000",
		"certs group owner":   "0",
		"deploy hook":         "create-nginx-certs",
		"revoke removed":      "true",
		"label grace":         "36h0m0s",
		"on failure":          `notify 'cert failed' plain 'it'\''s'`,
		"reuse key":           "true",
		"delegated domain":    "delegated.com",
		"delegated subdomain": "delegated.com",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}

	d, err := FromEnv(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	got = map[string]string{}
	for _, kv := range d.Summary() {
		got[kv.Key] = kv.Value
	}
	want = map[string]string{
		"renewal schedule":    DefaultCron,
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
	for k, w := range want {
		if got[k] != w {
			t.Errorf("default %s = %q, want %q", k, got[k], w)
		}
	}
}

// The Summary rendering of CERTDOCK_ON_FAILURE reads back to the same argv.
func TestQuoteArgvRoundTrip(t *testing.T) {
	for _, argv := range [][]string{
		{"notify"},
		{"a b", "", "it's", `"q"`, `back\slash`, "$HOME", "tab\there", "`x`"},
	} {
		c, err := FromEnv(envOf(map[string]string{"CERTDOCK_ON_FAILURE": quoteArgv(argv)}))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c.OnFailure, argv) {
			t.Errorf("quoteArgv(%q) = %q reads back as %q", argv, quoteArgv(argv), c.OnFailure)
		}
	}
}
