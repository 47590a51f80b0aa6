package dnsrobocert

import (
	"errors"
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
)

// example follows dnsrobocert's configuration reference: every section
// and key of its schema.
const example = `draft: false
acme:
  email_account: ${ACME_EMAIL}
  staging: false
  api_version: 2
  directory_url: https://acme.example.net/dir
  certs_root_path: /etc/letsencrypt
  certs_permissions:
    files_mode: 0640
    dirs_mode: "0750"
    user: nobody
    group: 1000
  crontab_renew: 12 01,13 * * *
profiles:
- name: my_profile
  provider: digitalocean
  provider_options:
    auth_token: ${DO_TOKEN}
  sleep_time: 45
  max_checks: 5
  ttl: 60
- name: lego_profile
  provider: rfc2136
  provider_options:
    DNSUPDATE_NAMESERVER: 127.0.0.1:53
    DNSUPDATE_TSIG_SECRET: $${NOT_SUBSTITUTED}
  delegated_subdomain: acme.example.org
  dynamic_zone_resolution: true
certificates:
- domains:
  - test1.example.net
  - test2.example.net
  profile: my_profile
  autorestart:
  - containers:
    - container1
    - container2
  - swarm_services:
    - service1
  autocmd:
  - cmd: /usr/bin/reload --all
    containers:
    - container3
  - cmd: [nginx, -s, reload]
    containers: [container4]
  follow_cnames: true
  key_type: ecdsa
- name: wild
  domains: ["*.example.org", example.org]
  profile: lego_profile
`

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestReadExample(t *testing.T) {
	c, err := Read("config.yml", []byte(example), env(map[string]string{"ACME_EMAIL": "me@example.net", "DO_TOKEN": "t0ken"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Draft || c.ACME.EmailAccount != "me@example.net" || c.ACME.DirectoryURL != "https://acme.example.net/dir" ||
		c.ACME.Permissions != (Permissions{FilesMode: "0640", DirsMode: "0750", User: "nobody", Group: "1000"}) || c.ACME.CrontabRenew != "12 01,13 * * *" {
		t.Errorf("acme: %+v", c.ACME)
	}
	envs := c.Env()
	for k, v := range map[string]string{"LETSENCRYPT_USER_MAIL": "me@example.net", "ACME_DIRECTORY_URL": "https://acme.example.net/dir",
		"CERTS_FILES_MODE": "0640", "CERTS_DIRS_MODE": "0750", "CERTS_USER_OWNER": "nobody", "CERTS_GROUP_OWNER": "1000", "CRON_TIME_STRING": "12 01,13 * * *", "CERTDOCK_DIR": "/etc/letsencrypt"} {
		if envs[k] != v {
			t.Errorf("Env[%s] = %q, want %q", k, envs[k], v)
		}
	}
	if _, ok := envs["LETSENCRYPT_STAGING"]; ok {
		t.Error("staging false set LETSENCRYPT_STAGING")
	}

	profiles, errs := c.DNSProfiles()
	if len(errs) != 0 || len(profiles) != 2 {
		t.Fatalf("profiles %+v, %v", profiles, errs)
	}
	do, lego := profiles[0], profiles[1]
	if do.Name != "my_profile" || do.Provider != "digitalocean" || do.Vars["DO_AUTH_TOKEN"] != "t0ken" || do.Vars["DIGITALOCEAN_TTL"] != "60" ||
		do.SleepTime.Seconds() != 45 || do.Origin != "config.yml:15" {
		t.Errorf("digitalocean profile: %+v", do)
	}
	if lego.Provider != "rfc2136" || lego.Vars["DNSUPDATE_TSIG_SECRET"] != "${NOT_SUBSTITUTED}" || lego.DelegatedSubdomain != "acme.example.org" {
		t.Errorf("lego profile: %+v", lego)
	}

	specs, problems := c.Specs()
	if len(problems) != 0 || len(specs) != 2 {
		t.Fatalf("specs %+v, problems %v", specs, problems)
	}
	a, w := specs[0], specs[1]
	if a.Name != "test1.example.net" || strings.Join(a.Domains, " ") != "test1.example.net test2.example.net" || a.DNSProfile != "my_profile" ||
		a.KeyType != cert.EC256 || a.Source.String() != "config.yml:30" {
		t.Errorf("first certificate: %+v", a)
	}
	var acts []string
	for _, x := range a.Actions {
		acts = append(acts, x.String())
	}
	if got := strings.Join(acts, "; "); got != `restart container1; restart container2; force-update service service1; exec container3: ["/usr/bin/reload" "--all"]; exec container4: ["nginx" "-s" "reload"]` {
		t.Errorf("actions: %s", got)
	}
	if w.Name != "wild" || strings.Join(w.Domains, " ") != "*.example.org example.org" || w.KeyType != cert.RSA2048 || w.DNSProfile != "lego_profile" {
		t.Errorf("second certificate: %+v", w)
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"invalid YAML", "acme:\n  staging: [\n", []string{"config.yml:2: invalid YAML"}},
		{"tab", "acme:\n\tstaging: true\n", []string{"config.yml:2: invalid YAML"}},
		{"empty", "\n# nothing\n", []string{"config.yml: the configuration is empty"}},
		{"undefined variable", "acme:\n  email_account: ${NOPE}\n", []string{"config.yml:2: environment variable NOPE is not defined"}},
		{"unknown top key", "acme: {}\ncertificate: []\n", []string{"config.yml:2: certificate: unknown key (known: draft, acme, api, profiles, certificates)"}},
		{"unknown nested key", "profiles:\n- name: p\n  provider: cloudflare\ncertificates:\n- domains: [a.example.com]\n  profile: p\n  autorestart:\n  - container: [x]\n",
			[]string{"config.yml:8: certificates[0].autorestart[0].container: unknown key (known: containers, swarm_services, podman_containers)"}},
		{"api v1", "acme:\n  api_version: 1\n", []string{"config.yml:2: acme.api_version: ACME v1 was shut down"}},
		{"wrong type", "draft: yes please\n", []string{"config.yml:1: draft: want true or false, found str \"yes please\""}},
		{"missing profile", "certificates:\n- domains: [a.example.com]\n  profile: nope\n", []string{`config.yml:2: certificates[0].profile: profile "nope" used by certificate a.example.com does not exist`}},
		{"duplicate lineage", "profiles:\n- {name: p, provider: cloudflare}\ncertificates:\n- {domains: [a.example.com], profile: p}\n- {domains: [a.example.com, b.example.com], profile: p}\n",
			[]string{"config.yml:5: certificates[1]: certificate a.example.com is already declared at line 4"}},
		{"bad key type", "profiles:\n- {name: p, provider: cloudflare}\ncertificates:\n- {domains: [a.example.com], profile: p, key_type: ed25519}\n", []string{`certificates[0].key_type: want rsa or ecdsa, found "ed25519"`}},
		{"bad domain", "profiles:\n- {name: p, provider: cloudflare}\ncertificates:\n- domains:\n  - a..example.com\n  profile: p\n", []string{"config.yml:5: certificates[0].domains[0]:"}},
		{"certificate without domains", "profiles:\n- {name: p, provider: cloudflare}\ncertificates:\n- {profile: p}\n", []string{"config.yml:4: certificates[0]: a certificate needs domains"}},
		{"autocmd without cmd", "profiles:\n- {name: p, provider: cloudflare}\ncertificates:\n- {domains: [a.example.com], profile: p, autocmd: [{containers: [x]}]}\n", []string{"certificates[0].autocmd[0]: autocmd needs cmd"}},
		{"profile without provider", "profiles:\n- name: p\n", []string{"config.yml:2: profiles[0]: a profile needs a provider"}},
		{"duplicate key", "draft: true\ndraft: false\n", []string{"config.yml:2: draft: given twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Read("config.yml", []byte(tt.doc), env(nil))
			if err == nil {
				t.Fatalf("no error; read %+v", c)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("%v is not an *Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	vars := env(map[string]string{"A": "1", "B": "two"})
	got, err := Substitute("f", []byte("x: ${A}${B}\ny: $${A} ${ not} $ {A} ${B"), vars)
	if err != nil || string(got) != "x: 1two\ny: ${A} ${ not} $ {A} ${B" {
		t.Fatalf("Substitute = %q, %v", got, err)
	}
	if _, err := Substitute("f", []byte("a\nb: ${C}"), vars); err == nil || !strings.HasPrefix(err.Error(), "f:2: environment variable C is not defined") {
		t.Fatalf("undefined: %v", err)
	}
}

func TestSpecsUnsupportedAndDraft(t *testing.T) {
	doc := "profiles:\n- {name: p, provider: cloudflare}\ncertificates:\n- domains: [a.example.com]\n  profile: p\n  deploy_hook: echo hi\n  pfx: {export: true, passphrase: x}\n  reuse_key: true\n  force_renew: true\n  autorestart: [{podman_containers: [x]}]\n"
	c, err := Read("config.yml", []byte(doc), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	specs, problems := c.Specs()
	if len(specs) != 1 {
		t.Errorf("the certificate is not served: %+v", specs)
	}
	var text []string
	for _, p := range problems {
		text = append(text, p.Error())
	}
	all := strings.Join(text, "\n")
	for _, w := range []string{"config.yml:4: certificates[0].autorestart: podman_containers"} {
		if !strings.Contains(all, w) {
			t.Errorf("problems lack %q:\n%s", w, all)
		}
	}
	if len(problems) != 1 {
		t.Errorf("%d problems, want 1 (deploy_hook, pfx, reuse_key and force_renew are the caller's):\n%s", len(problems), all)
	}
	if ct := c.Certificates[0]; ct.DeployHook != "echo hi" || ct.PFX == nil || !ct.PFX.Export || ct.PFX.Passphrase != "x" || !ct.ReuseKey || !ct.ForceRenew {
		t.Errorf("per-certificate settings: %+v", ct)
	}
	c.Draft = true
	if specs, problems := c.Specs(); specs != nil || problems != nil {
		t.Errorf("draft ordered %v (%v)", specs, problems)
	}
}
