package app_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/providers/dns/dnsupdate"

	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/internal/app"
	"github.com/certdock/certdock/internal/testenv"
)

// persistWorld is a world set up for dns-persist-01 with no DNS provider
// and no DNS credentials anywhere: the TSIG key is only the test's, which
// acts as the operator creating the printed records with nsupdate.
func persistWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t, "example.com")
	for k := range w.bind.Env() {
		t.Setenv(k, "") // lego reads empty as unset
	}
	delete(w.env, "DNS_PROVIDER")
	w.env["CERTDOCK_CHALLENGE"] = "dns-persist-01"
	return w
}

// buildPersist wires certdock with no DNS provider factory at all (as a
// binary would only when the provider is needed: with dns-persist-01 it
// is not).
func (w *world) buildPersist(t *testing.T, provider bool) *app.App {
	t.Helper()
	cfg, err := config.FromEnv(func(k string) string { return w.env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var opts app.Options
	if provider {
		opts.Provider = func(string) (challenge.Provider, error) {
			p, err := dnsupdate.NewDNSProvider()
			if err != nil {
				return nil, err
			}
			return p, nil
		}
	}
	a, err := app.Build(cfg, log, opts)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("certdock logs:\n%s", w.logs.String())
		}
	})
	return a
}

// report is what `certdock check` prints of the dns-persist-01 records.
func (w *world) report(t *testing.T, a *app.App) (string, []string) {
	t.Helper()
	specs, _, _ := app.DomainsSource(a.Config.DomainsFile(), false, slog.New(slog.DiscardHandler)).Desired(context.Background())
	var buf bytes.Buffer
	app.WritePersistReport(&buf, app.PersistRecords(context.Background(), a.Issuer, specs))
	var lines []string
	for l := range strings.Lines(buf.String()) {
		if strings.HasPrefix(l, "_validation-persist.") {
			rec, _, _ := strings.Cut(l, " ; ") // the zone-file comment says whether DNS has it
			lines = append(lines, strings.TrimSpace(rec))
		}
	}
	return buf.String(), lines
}

// TestPersistEndToEnd: with CERTDOCK_CHALLENGE=dns-persist-01 and no DNS
// provider configured, `run` registers the account and waits (no order);
// `check` prints the records; the operator creates them with nsupdate;
// a single name, a SAN pair and a wildcard with its apex are issued, and
// renewed with --force, without certdock writing DNS.
func TestPersistEndToEnd(t *testing.T) {
	w := persistWorld(t)
	w.writeDomains(t, "a.example.com\nb.example.com c.example.com\n*.example.com example.com\n")
	ctx := context.Background()
	a := w.buildPersist(t, false)
	names := []string{"a.example.com", "b.example.com", "example.com"}

	if out, lines := w.report(t, a); len(lines) != 0 || !strings.Contains(out, "`certdock run` registers it") {
		t.Fatalf("check before the account exists printed:\n%s", out)
	}
	serial := w.bind.Serial(t, "example.com")
	res := a.Controller.RunOnce(ctx)
	if len(res.Issued) != 0 || len(res.Failed) != 3 {
		t.Fatalf("first pass = %+v, want 3 waiting", res)
	}
	for _, n := range names {
		var we *controller.WaitingError
		if !errors.As(res.Failed[n], &we) || !strings.Contains(we.Error(), "has no dns-persist-01 record for pebble.letsencrypt.org") {
			t.Fatalf("%s: %v", n, res.Failed[n])
		}
	}
	if strings.Contains(w.logs.String(), "issuing certificate") {
		t.Fatal("an order was placed while the records were missing")
	}
	if logs := w.logs.String(); !strings.Contains(logs, "waiting for DNS records: create them once") ||
		!strings.Contains(logs, `_validation-persist.example.com. IN TXT \"pebble.letsencrypt.org; accounturi=`) {
		t.Error("the records to create are not logged")
	}

	out, lines := w.report(t, a)
	acct, err := a.Issuer.SavedAccountURL()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`_validation-persist.a.example.com. IN TXT "pebble.letsencrypt.org; accounturi=` + acct + `"`,
		`_validation-persist.b.example.com. IN TXT "pebble.letsencrypt.org; accounturi=` + acct + `"`,
		`_validation-persist.c.example.com. IN TXT "pebble.letsencrypt.org; accounturi=` + acct + `"`,
		`_validation-persist.example.com. IN TXT "pebble.letsencrypt.org; accounturi=` + acct + `; policy=wildcard"`,
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("check printed:\n%s\nwant the lines\n%s", out, strings.Join(want, "\n"))
	}
	if n := strings.Count(out, "MISSING"); n != 4 {
		t.Errorf("check reports %d missing records, want 4:\n%s", n, out)
	}
	if w.bind.Serial(t, "example.com") != serial {
		t.Fatal("certdock wrote to DNS with no provider configured")
	}

	// The operator creates the printed records.
	w.bind.NSUpdate(t, lines...)
	serial, updates := w.bind.Serial(t, "example.com"), len(w.bind.UpdateLog())
	if out, _ := w.report(t, a); strings.Contains(out, "MISSING") {
		t.Fatalf("check after nsupdate:\n%s", out)
	}
	res = a.Controller.Renew(ctx, names, false) // `certdock renew NAME`: no wait for the next DNS check
	if !slices.Equal(res.Issued, names) || res.Err() != nil {
		t.Fatalf("after the records: %+v", res)
	}
	roots := w.pebble.Roots(t)
	checkLineage(t, w.dir, "a.example.com", []string{"a.example.com"}, roots, 1)
	checkLineage(t, w.dir, "b.example.com", []string{"b.example.com", "c.example.com"}, roots, 1)
	checkLineage(t, w.dir, "example.com", []string{"*.example.com", "example.com"}, roots, 1)

	// renew --force in a new process: no DNS write at all.
	res = w.buildPersist(t, false).Controller.Renew(ctx, names, true)
	if !slices.Equal(res.Issued, names) || res.Err() != nil {
		t.Fatalf("renew --force: %+v", res)
	}
	checkLineage(t, w.dir, "example.com", []string{"*.example.com", "example.com"}, roots, 2)
	if s := w.bind.Serial(t, "example.com"); s != serial {
		t.Errorf("zone serial %d → %d: DNS was written during issuance", serial, s)
	}
	if u := w.bind.UpdateLog(); len(u) != updates {
		t.Errorf("named logged updates during issuance: %q", u[updates:])
	}
}

// TestPersistRecordProblems: each wrong record fails only its certificate,
// with a message naming it and the record to create; a good one next to
// them is issued in the same pass.
func TestPersistRecordProblems(t *testing.T) {
	w := persistWorld(t)
	w.writeDomains(t, "good.example.com\nother.example.com\n*.wild.example.com\nold.example.com\n")
	ctx := context.Background()
	a := w.buildPersist(t, false)
	a.Controller.RunOnce(ctx) // registers the account
	acct, err := a.Issuer.SavedAccountURL()
	if err != nil {
		t.Fatal(err)
	}
	v := "pebble.letsencrypt.org; accounturi=" + acct
	w.bind.NSUpdate(t,
		`_validation-persist.good.example.com. IN TXT "`+v+`"`,
		`_validation-persist.other.example.com. IN TXT "pebble.letsencrypt.org; accounturi=https://127.0.0.1:1/my-account/999"`,
		`_validation-persist.wild.example.com. IN TXT "`+v+`"`,
		`_validation-persist.old.example.com. IN TXT "`+v+`; persistUntil=1000000000"`,
	)
	res := a.Controller.Renew(ctx, []string{"good.example.com", "other.example.com", "wild.example.com", "old.example.com"}, false)
	if !slices.Equal(res.Issued, []string{"good.example.com"}) {
		t.Fatalf("issued %v, want good.example.com only (failed: %v)", res.Issued, res.Failed)
	}
	wantMsg := map[string][]string{
		"other.example.com": {"_validation-persist.other.example.com authorizes another ACME account (accounturi=https://127.0.0.1:1/my-account/999), not the current one " + acct,
			`create: _validation-persist.other.example.com. IN TXT "` + v + `"`},
		"wild.example.com": {"_validation-persist.wild.example.com lacks policy=wildcard, which *.wild.example.com needs",
			`create: _validation-persist.wild.example.com. IN TXT "` + v + `; policy=wildcard"`},
		"old.example.com": {"_validation-persist.old.example.com expired: persistUntil=1000000000 (2001-09-09T01:46:40Z) is in the past",
			`create: _validation-persist.old.example.com. IN TXT "` + v + `"`},
	}
	for name, msgs := range wantMsg {
		for _, m := range msgs {
			if err := res.Failed[name]; err == nil || !strings.Contains(err.Error(), m) {
				t.Errorf("%s: %v\nwant it to say %s", name, err, m)
			}
		}
	}
	out, _ := w.report(t, a)
	if !regexp.MustCompile(`WARNING: records exist for ACME account\(s\) https://127.0.0.1:1/my-account/999, not the current account`).MatchString(out) {
		t.Errorf("check does not warn about the other account's record:\n%s", out)
	}
	if strings.Count(w.logs.String(), `"msg":"issuing certificate"`) != 1 {
		t.Errorf("orders were placed for the certificates with wrong records")
	}
}

// TestPersistWritesRecordOnceThenRenewsWithoutCredentials: with an rfc2136
// provider configured, certdock creates the missing record itself (one
// update), never writes it again, and renews once the credentials are
// gone.
func TestPersistWritesRecordOnceThenRenewsWithoutCredentials(t *testing.T) {
	w := newWorld(t, "example.com") // DNS_PROVIDER=rfc2136 with bind's TSIG key
	w.env["CERTDOCK_CHALLENGE"] = "dns-persist-01"
	w.writeDomains(t, "self.example.com www.self.example.com\n")
	ctx := context.Background()
	serial := w.bind.Serial(t, "example.com")
	res := w.buildPersist(t, true).Controller.RunOnce(ctx)
	if !slices.Equal(res.Issued, []string{"self.example.com"}) || res.Err() != nil {
		t.Fatalf("first pass: %+v", res)
	}
	if n := strings.Count(w.logs.String(), "created the dns-persist-01 record"); n != 2 {
		t.Errorf("%d records created, want 2", n)
	}
	for _, fqdn := range []string{"_validation-persist.self.example.com.", "_validation-persist.www.self.example.com."} {
		if txt := w.bind.TXT(t, fqdn); len(txt) != 1 || !strings.HasPrefix(txt[0], "pebble.letsencrypt.org; accounturi=https://") {
			t.Errorf("%s = %q", fqdn, txt)
		}
	}
	if txt := w.bind.TXT(t, "_acme-challenge.self.example.com."); len(txt) != 0 {
		t.Errorf("a dns-01 record was written: %q", txt)
	}
	if strings.Contains(w.logs.String(), w.bind.KeySecret) {
		t.Error("the TSIG secret appears in the logs")
	}
	written := w.bind.Serial(t, "example.com")
	if written-serial != 2 {
		t.Errorf("zone serial moved by %d, want 2 (one insert per record)", written-serial)
	}
	// With the credentials still there, a forced renewal writes nothing.
	res = w.buildPersist(t, true).Controller.Renew(ctx, []string{"self.example.com"}, true)
	if !slices.Equal(res.Issued, []string{"self.example.com"}) || w.bind.Serial(t, "example.com") != written {
		t.Fatalf("renewal with credentials: %+v, serial %d → %d", res, written, w.bind.Serial(t, "example.com"))
	}
	// The credentials are removed: renewals keep working.
	for k := range w.bind.Env() {
		t.Setenv(k, "")
	}
	delete(w.env, "DNS_PROVIDER")
	res = w.buildPersist(t, false).Controller.Renew(ctx, []string{"self.example.com"}, true)
	if !slices.Equal(res.Issued, []string{"self.example.com"}) || res.Err() != nil {
		t.Fatalf("renewal without credentials: %+v", res)
	}
	checkLineage(t, w.dir, "self.example.com", []string{"self.example.com", "www.self.example.com"}, w.pebble.Roots(t), 3)
	if s := w.bind.Serial(t, "example.com"); s != written {
		t.Errorf("zone serial %d → %d after the record was created", written, s)
	}
}

// TestPersistProfile: CERTDOCK_PROFILE_<NAME>_CHALLENGE=dns-persist-01
// makes one DNS profile's certificates validate against records created
// once (no provider in the profile), while the default provider keeps
// solving dns-01 for the others in the same pass.
func TestPersistProfile(t *testing.T) {
	w := newWorld(t, "example.com", "example.org")
	w.writeDomains(t, "a.example.com\nb.example.org\n")
	cfg, err := config.FromEnv(func(k string) string { return w.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var perrs []error
	cfg.Profiles, perrs = config.ReadProfiles([]string{"CERTDOCK_PROFILE_KEPT_CHALLENGE=dns-persist-01", "CERTDOCK_PROFILE_KEPT_ZONES=example.org"})
	if len(perrs) > 0 {
		t.Fatal(perrs)
	}
	log := slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	build := func() *app.App {
		a, err := app.Build(cfg, log, app.Options{Provider: func(string) (challenge.Provider, error) { return dnsupdate.NewDNSProvider() }})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	ctx := context.Background()
	a := build()
	res := a.Controller.RunOnce(ctx)
	var we *controller.WaitingError
	if !slices.Equal(res.Issued, []string{"a.example.com"}) || !errors.As(res.Failed["b.example.org"], &we) {
		t.Fatalf("first pass: %+v", res)
	}
	w.bind.NSUpdate(t, we.Records...)
	if res = build().Controller.Renew(ctx, []string{"b.example.org"}, false); !slices.Equal(res.Issued, []string{"b.example.org"}) {
		t.Fatalf("after the record: %+v", res)
	}
	checkLineage(t, w.dir, "b.example.org", []string{"b.example.org"}, w.pebble.Roots(t), 1)
	if txt := w.bind.TXT(t, "_validation-persist.a.example.com."); len(txt) != 0 {
		t.Errorf("a dns-01 certificate got a persist record: %q", txt)
	}
}

// TestPersistUntil: with CERTDOCK_PERSIST_UNTIL the printed records carry
// persistUntil, and a record carrying it validates (lego's challenge is
// told the exact value found).
func TestPersistUntil(t *testing.T) {
	w := persistWorld(t)
	w.env["CERTDOCK_PERSIST_UNTIL"] = "2030-01-01"
	w.writeDomains(t, "*.until.example.com until.example.com\n")
	ctx := context.Background()
	a := w.buildPersist(t, false)
	a.Controller.RunOnce(ctx) // registers the account
	_, lines := w.report(t, a)
	if len(lines) != 1 || !strings.HasSuffix(lines[0], `; policy=wildcard; persistUntil=1893456000"`) {
		t.Fatalf("check printed %q", lines)
	}
	w.bind.NSUpdate(t, lines...)
	if out, _ := w.report(t, a); !strings.Contains(out, "present, accepted until 2030-01-01T00:00:00Z (persistUntil)") {
		t.Errorf("check after the record:\n%s", out)
	}
	if res := a.Controller.Renew(ctx, []string{"until.example.com"}, false); !slices.Equal(res.Issued, []string{"until.example.com"}) {
		t.Fatalf("with persistUntil: %+v", res)
	}
	checkLineage(t, w.dir, "until.example.com", []string{"*.until.example.com", "until.example.com"}, w.pebble.Roots(t), 1)
}

// TestPersistWaitingAsksDNSNotTheCA counts the CA's requests (through a
// proxy in front of Pebble): while a record is missing, a certificate's
// passes send the CA nothing at all once the account is set up; the pass
// after the record appears orders once.
func TestPersistWaitingAsksDNSNotTheCA(t *testing.T) {
	w := persistWorld(t)
	ap := testenv.StartACMEProxy(t, w.pebble)
	w.env["ACME_DIRECTORY_URL"], w.env["ACME_CA_CERTIFICATES"] = ap.DirectoryURL, ap.CAFile
	w.writeDomains(t, "wait.example.com\n")
	ctx := context.Background()
	a := w.buildPersist(t, false)
	a.Controller.RunOnce(ctx) // registers the account, then waits
	if n := ap.Count(testenv.EndpointNewOrder); n != 0 {
		t.Fatalf("%d orders while the record is missing", n)
	}
	before := len(ap.Requests())
	for range 3 {
		if res := a.Controller.Renew(ctx, []string{"wait.example.com"}, false); len(res.Issued) != 0 {
			t.Fatalf("issued without its record: %+v", res)
		}
	}
	if got := ap.Requests()[before:]; len(got) != 0 {
		t.Fatalf("the CA was asked while waiting for the record: %+v", got)
	}
	acct, err := a.Issuer.SavedAccountURL()
	if err != nil {
		t.Fatal(err)
	}
	w.bind.NSUpdate(t, `_validation-persist.wait.example.com. IN TXT "pebble.letsencrypt.org; accounturi=`+acct+`"`)
	if res := a.Controller.Renew(ctx, []string{"wait.example.com"}, false); !slices.Equal(res.Issued, []string{"wait.example.com"}) {
		t.Fatalf("after the record: %+v", res)
	}
	if n := ap.Count(testenv.EndpointNewOrder); n != 1 {
		t.Errorf("%d orders, want 1", n)
	}
}

// TestPersistCAWithoutPersist: a CA that does not offer dns-persist-01
// (Pebble behind a proxy that removes it from authorizations) fails the
// certificate as a configuration error naming CERTDOCK_CHALLENGE; nothing
// falls back to dns-01, and nothing is written to DNS.
func TestPersistCAWithoutPersist(t *testing.T) {
	w := persistWorld(t)
	ap := testenv.StartACMEProxy(t, w.pebble)
	w.env["ACME_DIRECTORY_URL"], w.env["ACME_CA_CERTIFICATES"] = ap.DirectoryURL, ap.CAFile
	w.writeDomains(t, "nopersist.example.com\n")
	ctx := context.Background()
	a := w.buildPersist(t, false)
	a.Controller.RunOnce(ctx) // registers the account
	acct, err := a.Issuer.SavedAccountURL()
	if err != nil {
		t.Fatal(err)
	}
	w.bind.NSUpdate(t, `_validation-persist.nopersist.example.com. IN TXT "pebble.letsencrypt.org; accounturi=`+acct+`"`)
	serial := w.bind.Serial(t, "example.com")
	ap.HideChallenges("dns-persist-01")
	res := a.Controller.Renew(ctx, []string{"nopersist.example.com"}, false)
	err = res.Failed["nopersist.example.com"]
	for _, want := range []string{"the CA does not offer dns-persist-01 for nopersist.example.com", "CERTDOCK_CHALLENGE", "dns-01"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	if f := a.Controller.Failures()["nopersist.example.com"]; !f.NeedsConfig {
		t.Errorf("failure %+v is not a configuration error", f)
	}
	if w.bind.Serial(t, "example.com") != serial {
		t.Error("DNS was written")
	}
}
