package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/internal/app"
	"github.com/certdock/certdock/internal/testenv"
)

// TestDnsrobocertEndToEnd: a dnsrobocert config.yml with two profiles of
// provider rfc2136 (lego options, a TSIG secret substituted from the
// environment), each allowed one zone by bind9, is served as a source:
// its certificates are issued by real Pebble with dnsrobocert's key
// types. An invalid edit is reported with file and line, and the
// certificates stay.
func TestDnsrobocertEndToEnd(t *testing.T) {
	bind := testenv.StartBindZoneKeys(t, "corp.test", "lab.test")
	pebble := testenv.StartPebble(t, bind.Addr, nil)
	w := &world{bind: bind, pebble: pebble, dir: t.TempDir(), logs: &testenv.LogBuffer{}}
	file := filepath.Join(w.dir, "config.yml")
	hookLog := filepath.Join(w.dir, "hook.log")
	w.env = map[string]string{
		"CERTDOCK_DIR":                w.dir,
		"ACME_DIRECTORY_URL":          pebble.DirectoryURL,
		"ACME_CA_CERTIFICATES":        pebble.TLSCAFile,
		"DNS_PROVIDER":                "rfc2136",
		"DNS_RESOLVERS":               bind.Addr,
		"CERTDOCK_DNSROBOCERT_CONFIG": file,
	}
	profile := func(name, zone string) string {
		k := bind.ZoneKeys[zone]
		t.Setenv("ROBO_SECRET_"+strings.ToUpper(name), k.Secret)
		return fmt.Sprintf(`- name: %s
  provider: rfc2136
  provider_options:
    DNSUPDATE_NAMESERVER: %s
    DNSUPDATE_TSIG_KEY: %s
    DNSUPDATE_TSIG_SECRET: ${ROBO_SECRET_%s}
    DNSUPDATE_TSIG_ALGORITHM: %s
    DNSUPDATE_ZONES: %s
`, name, bind.Addr, k.Name, strings.ToUpper(name), bind.KeyAlgorithm, zone)
	}
	config := "draft: false\nprofiles:\n" + profile("corp", "corp.test") + profile("lab", "lab.test") + `certificates:
- domains: [a.corp.test, www.corp.test]
  profile: corp
  key_type: ecdsa
  follow_cnames: true
- name: lab
  domains: ["*.lab.test", lab.test]
  profile: lab
  deploy_hook: echo "$DNSROBOCERT_CERTIFICATE_NAME $DNSROBOCERT_CERTIFICATE_DOMAINS $DNSROBOCERT_CERTIFICATE_PROFILE" >> ` + hookLog + `
  pfx:
    export: true
    passphrase: pfx-$${not-a-variable}
  reuse_key: true
`
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := w.build(t)
	res := a.Controller.RunOnce(ctx)
	if !slices.Equal(res.Issued, []string{"a.corp.test", "lab"}) || res.Err() != nil {
		t.Fatalf("issued %v, err %v; want a.corp.test and lab", res.Issued, res.Err())
	}
	roots := pebble.Roots(t)
	checkLineage(t, w.dir, "a.corp.test", []string{"a.corp.test", "www.corp.test"}, roots, 1)
	checkLineage(t, w.dir, "lab", []string{"*.lab.test", "lab.test"}, roots, 1)
	for name, kt := range map[string]cert.KeyType{"a.corp.test": cert.EC256, "lab": cert.RSA2048} {
		l, err := a.Store.Load(name)
		if err != nil || l.KeyType != kt {
			t.Errorf("%s: key type %v (%v), want %s", name, l, err, kt)
		}
	}
	// lab's per-certificate settings: deploy_hook with dnsrobocert's
	// variables, pfx with its passphrase, reuse_key; none for a.corp.test.
	if got, _ := os.ReadFile(hookLog); string(got) != "lab *.lab.test,lab.test lab\n" {
		t.Errorf("deploy_hook wrote %q", got)
	}
	pfx, err := os.ReadFile(filepath.Join(w.dir, "live", "lab", "cert.pfx"))
	if err != nil {
		t.Fatalf("lab's PFX: %v", err)
	}
	if _, _, _, err := pkcs12.DecodeChain(pfx, "pfx-${not-a-variable}"); err != nil {
		t.Errorf("lab's PFX does not open with its passphrase: %v", err)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "live", "a.corp.test", "cert.pfx")); err == nil {
		t.Error("a.corp.test got a PFX it did not ask for")
	}
	keyBefore, _ := os.ReadFile(filepath.Join(w.dir, "live", "lab", "privkey.pem"))
	corpBefore, _ := os.ReadFile(filepath.Join(w.dir, "live", "a.corp.test", "privkey.pem"))
	res = a.Controller.Renew(ctx, []string{"lab", "a.corp.test"}, true)
	if len(res.Issued) != 2 || res.Err() != nil {
		t.Fatalf("forced renewal: issued %v, err %v", res.Issued, res.Err())
	}
	keyAfter, _ := os.ReadFile(filepath.Join(w.dir, "live", "lab", "privkey.pem"))
	corpAfter, _ := os.ReadFile(filepath.Join(w.dir, "live", "a.corp.test", "privkey.pem"))
	if len(keyBefore) == 0 || string(keyAfter) != string(keyBefore) {
		t.Error("reuse_key: lab's renewal has a new private key")
	}
	if string(corpAfter) == string(corpBefore) {
		t.Error("a.corp.test (no reuse_key) kept its private key")
	}
	if got, _ := os.ReadFile(hookLog); strings.Count(string(got), "\n") != 2 {
		t.Errorf("deploy_hook after the renewal: %q", got)
	}
	for zone, k := range bind.ZoneKeys {
		if strings.Contains(w.logs.String(), k.Secret) {
			t.Errorf("the TSIG secret of %s appears in the logs", zone)
		}
	}

	// An invalid edit: reported with its file and line; the certificates
	// of the last valid file are still served, nothing is removed.
	bad := strings.Replace(config, "  key_type: ecdsa\n", "  key_type: ecdsa\n  autorestart: [{containerz: [x]}]\n", 1)
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	line := strings.Count(bad[:strings.Index(bad, "containerz")], "\n") + 1
	res = a.Controller.RunOnce(ctx)
	want := fmt.Sprintf("%s:%d: certificates[0].autorestart[0].containerz: unknown key", file, line)
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Error(), want) {
		t.Fatalf("problems %v; want %q", res.Problems, want)
	}
	if len(res.Issued) != 0 || len(res.Failed) != 0 || !slices.Contains(res.Unchanged, "lab") || !slices.Contains(res.Unchanged, "a.corp.test") {
		t.Errorf("after an invalid edit: issued %v, failed %v, unchanged %v", res.Issued, res.Failed, res.Unchanged)
	}
	for _, name := range []string{"a.corp.test", "lab"} {
		if _, err := os.Stat(filepath.Join(w.dir, "live", name, "fullchain.pem")); err != nil {
			t.Errorf("%s removed after an invalid edit: %v", name, err)
		}
	}
}

// TestDnsrobocertOrderAndForceRenew: on the real engine, config.yml's
// deploy_hook runs after the certificate's autocmd (dnsrobocert's order:
// it sees what autocmd did in the container), and force_renew issues a
// new version each time the file is applied — at start and after each
// change — and not on the passes in between.
func TestDnsrobocertOrderAndForceRenew(t *testing.T) {
	testenv.RequireDocker(t)
	w := newWorld(t, "example.com")
	ctr := "cd-robo-" + fmt.Sprint(time.Now().UnixNano()%1e6)
	runContainer(t, ctr, nil, idleScript)
	file := filepath.Join(w.dir, "config.yml")
	hookLog := filepath.Join(w.dir, "hook.log")
	w.env["CERTDOCK_DNSROBOCERT_CONFIG"] = file
	var opts strings.Builder
	for k, v := range w.bind.Env() {
		fmt.Fprintf(&opts, "    %s: %q\n", k, v)
	}
	config := "profiles:\n- name: main\n  provider: rfc2136\n  provider_options:\n" + opts.String() + `certificates:
- domains: [robo.example.com]
  profile: main
  force_renew: true
  autocmd:
  - cmd: sh -c 'echo acted >> /tmp/acted'
    containers: [` + ctr + `]
  deploy_hook: docker exec ` + ctr + ` cat /tmp/acted | wc -l >> ` + hookLog + `
`
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	dc, err := docker.New(docker.Options{LabelPrefix: "certdock", Logger: slog.New(slog.NewJSONHandler(w.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	a := w.buildWith(t, app.Options{Docker: dc})
	ctx := context.Background()
	hooked := func() []string {
		b, _ := os.ReadFile(hookLog)
		return strings.Fields(string(b))
	}
	version := func() int {
		l, err := a.Store.Load("robo.example.com")
		if err != nil {
			t.Fatal(err)
		}
		return l.Version
	}

	if res := a.Controller.RunOnce(ctx); !slices.Equal(res.Issued, []string{"robo.example.com"}) || res.Err() != nil {
		t.Fatalf("first pass: issued %v, err %v", res.Issued, res.Err())
	}
	// The hook saw autocmd's line: it ran after it.
	if got := hooked(); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("deploy_hook saw %q lines of autocmd's file, want [1]: it must run after autocmd", got)
	}
	if res := a.Controller.RunOnce(ctx); len(res.Issued) != 0 || version() != 1 {
		t.Fatalf("the same file again: issued %v, version %d; force_renew acts once per applied file", res.Issued, version())
	}
	if err := os.WriteFile(file, []byte(config+"# edited\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := a.Controller.RunOnce(ctx); !slices.Equal(res.Issued, []string{"robo.example.com"}) || version() != 2 {
		t.Fatalf("after an edit: issued %v, version %d; force_renew must renew", res.Issued, version())
	}
	if got := hooked(); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("deploy_hook lines %q, want [1 2]", got)
	}
	if res := a.Controller.RunOnce(ctx); len(res.Issued) != 0 {
		t.Fatalf("the edited file again: issued %v", res.Issued)
	}
}
