package app_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/internal/app"
	"github.com/certdock/certdock/internal/testenv"
)

// serve runs the daemon of a until the test ends.
func serve(t testing.TB, a *app.App) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, false) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
}

func version(a *app.App, name string) int {
	l, err := a.Store.Load(name)
	if err != nil {
		return 0
	}
	return l.Version
}

// certStatus asks Pebble's management API whether a certificate is
// revoked ("Valid" or "Revoked").
func certStatus(t testing.TB, p *testenv.Pebble, leaf *x509.Certificate) string {
	t.Helper()
	resp, err := p.HTTPClient().Get(p.MgmtURL + "/cert-status-by-serial/" + leaf.SerialNumber.Text(16))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct{ Status string }
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Status
}

func TestLifecycleEndToEnd(t *testing.T) {
	w := newWorldWith(t, &testenv.PebbleOptions{Profiles: map[string]testenv.PebbleProfile{"tiny": {Validity: 40 * time.Second}}}, "example.com")
	hookLog := filepath.Join(t.TempDir(), "hook.log")
	w.env["ACME_PROFILE"] = "tiny"
	w.env["PFX_EXPORT"] = "true"
	w.env["PFX_EXPORT_PASSPHRASE"] = "s3cret-pfx"
	w.env["CERTS_FILES_MODE"] = "0600"
	w.env["DEPLOY_HOOK"] = `echo "$RENEWED_DOMAINS $(basename "$RENEWED_LINEAGE")" >> ` + hookLog
	w.writeDomains(t, "auto.example.com\nremove.example.com\n")
	a := w.build(t)
	serve(t, a)

	eventually(t, 20*time.Second, "first issuance", func() bool { return version(a, "auto.example.com") >= 1 && version(a, "remove.example.com") >= 1 })

	t.Run("renews by itself", func(t *testing.T) {
		eventually(t, 45*time.Second, "automatic renewal of a 40 s certificate", func() bool { return version(a, "auto.example.com") >= 2 })
	})

	t.Run("edit in place is applied", func(t *testing.T) {
		f, err := os.OpenFile(filepath.Join(w.dir, "domains.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("inplace.example.com\n")
		f.Close()
		start := time.Now()
		eventually(t, 5*time.Second, "in-place edit applied", func() bool { return version(a, "inplace.example.com") >= 1 })
		t.Logf("in-place edit applied and issued in %v", time.Since(start))
	})

	t.Run("replace by rename is applied; removed line revoked (every valid version) and deleted", func(t *testing.T) {
		// The 40 s certificate renews by itself: removal must revoke the
		// versions renewals superseded too, not only the current one.
		// Remove it while a superseded version has at least 10 s left.
		var versions []cert.Version
		eventually(t, 60*time.Second, "a renewal of the certificate to remove, its predecessor still valid", func() bool {
			vs, err := a.Store.Versions("remove.example.com")
			if err != nil || len(vs) < 2 || time.Until(vs[len(vs)-2].NotAfter) < 10*time.Second {
				return false
			}
			versions = vs
			return true
		})
		tmp := filepath.Join(w.dir, ".domains.conf.swp")
		if err := os.WriteFile(tmp, []byte("auto.example.com\ninplace.example.com\nrenamed.example.com\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(w.dir, "domains.conf")); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		eventually(t, 5*time.Second, "rename applied", func() bool { return version(a, "renamed.example.com") >= 1 })
		t.Logf("rename applied and issued in %v", time.Since(start))
		eventually(t, 10*time.Second, "removed lineage deleted", func() bool {
			_, err := os.Stat(filepath.Join(w.dir, "live", "remove.example.com"))
			return os.IsNotExist(err)
		})
		if _, err := os.Stat(filepath.Join(w.dir, "archive", "remove.example.com")); !os.IsNotExist(err) {
			t.Errorf("archive of the removed lineage still there: %v", err)
		}
		removedAt := time.Now()
		checked := 0
		for _, v := range versions {
			if !v.NotAfter.After(removedAt) {
				continue // expired before the removal: nothing to revoke
			}
			checked++
			b, _ := pem.Decode(v.CertPEM)
			leaf, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if st := certStatus(t, w.pebble, leaf); st != "Revoked" {
				t.Errorf("removed certificate version %d (of %d) at the CA: %s, want Revoked", v.Number, len(versions), st)
			}
		}
		if checked < 2 {
			t.Errorf("only %d versions were still valid at removal, want the current one and a superseded one", checked)
		}
	})

	t.Run("forced renewal: new version, hook, PFX, modes", func(t *testing.T) {
		before := version(a, "renamed.example.com")
		res := a.Controller.Renew(context.Background(), []string{"renamed.example.com"}, true)
		if len(res.Issued) != 1 {
			t.Fatalf("forced renewal: %+v", res)
		}
		if v := version(a, "renamed.example.com"); v != before+1 {
			t.Fatalf("version %d after forced renewal of version %d", v, before)
		}
		hook, _ := os.ReadFile(hookLog)
		if !strings.Contains(string(hook), "renamed.example.com renamed.example.com") {
			t.Errorf("deploy hook log:\n%s", hook)
		}
		live := filepath.Join(w.dir, "live", "renamed.example.com")
		data, err := os.ReadFile(filepath.Join(live, "cert.pfx"))
		if err != nil {
			t.Fatal(err)
		}
		_, leaf, chain, err := pkcs12.DecodeChain(data, "s3cret-pfx")
		if err != nil {
			t.Fatalf("cert.pfx: %v", err)
		}
		cur, _ := a.Store.Load("renamed.example.com")
		if !leaf.Equal(cur.Leaf) || len(chain) == 0 {
			t.Error("cert.pfx does not hold the live certificate and its chain")
		}
		for _, f := range []string{"privkey.pem", "cert.pem", "cert.pfx"} {
			if st, err := os.Stat(filepath.Join(live, f)); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v (%v), want 0600", f, st.Mode().Perm(), err)
			}
		}
		if strings.Contains(w.logs.String(), "s3cret-pfx") {
			t.Error("the PFX passphrase appears in the logs")
		}
	})
}

func TestARIWindowFromTheCATriggersRenewal(t *testing.T) {
	w := newWorld(t, "example.com")
	w.writeDomains(t, "ari.example.com\n")
	if err := w.build(t).Controller.RunOnce(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	a := w.build(t)
	if res := a.Controller.RunOnce(context.Background()); len(res.Issued) != 0 {
		t.Fatalf("a fresh 90-day certificate was renewed: %v", res.Issued)
	}
	lin, _ := a.Store.Load("ari.example.com")
	// The CA now suggests renewing immediately.
	now := time.Now().UTC()
	setARI(t, w.pebble, lin.Leaf, now.Add(-2*time.Hour), now.Add(-time.Hour))
	// The previous run recorded the CA's answer; a new process asks again
	// only once it is stale (the CA's Retry-After, 6 h without one).
	// Age it as if that time had passed.
	st, err := a.Store.LoadState()
	if err != nil || st.Lineages["ari.example.com"] == nil || st.Lineages["ari.example.com"].ARI == nil {
		t.Fatalf("the ARI answer was not recorded: %v", err)
	}
	if next := st.Lineages["ari.example.com"].ARI.NextFetch; time.Until(next) < 5*time.Hour {
		t.Errorf("the recorded ARI answer is trusted until %v, want ~6 h (Pebble sends no Retry-After)", next)
	}
	st.Lineages["ari.example.com"].ARI.NextFetch = now.Add(-time.Minute)
	if err := a.Store.SaveState(st); err != nil {
		t.Fatal(err)
	}
	res := w.build(t).Controller.RunOnce(context.Background())
	if len(res.Issued) != 1 || version(a, "ari.example.com") != 2 {
		t.Fatalf("ARI window did not trigger renewal: %+v", res)
	}
	if !strings.Contains(w.logs.String(), "ARI") {
		t.Error("the renewal reason does not mention ARI")
	}
}

func TestCAOutageBacksOffAndRecovers(t *testing.T) {
	w := newWorld(t, "example.com")
	u := strings.TrimPrefix(w.pebble.DirectoryURL, "https://")
	target, path, _ := strings.Cut(u, "/")
	proxy := testenv.StartTCPProxy(t, target)
	w.env["ACME_DIRECTORY_URL"] = "https://" + proxy.Addr + "/" + path
	proxy.Cut()
	w.writeDomains(t, "outage.example.com\n")
	// Short backoff so the test sees it grow: the product's is 1 min doubling.
	a := w.build(t)
	for range 3 {
		a.Controller.Renew(context.Background(), []string{"outage.example.com"}, false)
	}
	f := a.Controller.Failures()["outage.example.com"]
	if f.Count != 3 || !f.Next.After(time.Now().Add(3*time.Minute)) {
		t.Fatalf("after 3 failures: %+v, want count 3 and the next attempt ≥ 4 min away", f)
	}
	// Persisted: a restarted certdock sees the same streak.
	b := w.build(t)
	if g := b.Controller.Failures()["outage.example.com"]; g.Count != 3 || !g.Next.Equal(f.Next) {
		t.Fatalf("backoff not persisted across restarts: %+v vs %+v", g, f)
	}
	proxy.Restore()
	res := b.Controller.Renew(context.Background(), []string{"outage.example.com"}, false)
	if len(res.Issued) != 1 {
		t.Fatalf("no recovery once the CA is back: %+v", res)
	}
	if _, ok := b.Controller.Failures()["outage.example.com"]; ok {
		t.Error("failure streak not cleared after recovery")
	}
}

func TestRenewNextToRunningDaemonOrdersOnce(t *testing.T) {
	w := newWorld(t, "example.com")
	w.writeDomains(t, "")
	daemon := w.build(t)
	serve(t, daemon)
	time.Sleep(300 * time.Millisecond)
	// The line appears while a second certdock (as `certdock renew`) is
	// asked for the same certificate: both want it, one order is placed.
	w.writeDomains(t, "once.example.com\n")
	res := w.build(t).Controller.Renew(context.Background(), []string{"once.example.com"}, false)
	if res.Err() != nil {
		t.Fatal(res.Err())
	}
	time.Sleep(2 * time.Second) // let the daemon's pass run too
	if v := version(daemon, "once.example.com"); v != 1 {
		t.Fatalf("version %d: two processes both ordered the certificate", v)
	}
}

func TestFailureNotificationOncePerStreak(t *testing.T) {
	w := newWorld(t, "example.com")
	notes := filepath.Join(t.TempDir(), "notes")
	w.env["CERTDOCK_ON_FAILURE"] = `sh -c 'echo "$CERTDOCK_CERT: $CERTDOCK_ERROR" >> ` + notes + `'`
	w.env["ACME_DIRECTORY_URL"] = fmt.Sprintf("https://127.0.0.1:%d/dir", testenv.FreePort(t))
	w.writeDomains(t, "notify.example.com\n")
	a := w.build(t)
	for range 3 {
		a.Controller.Renew(context.Background(), []string{"notify.example.com"}, false)
	}
	data, _ := os.ReadFile(notes)
	if n := strings.Count(string(data), "notify.example.com: "); n != 1 || !strings.Contains(string(data), "unreachable") {
		t.Fatalf("notifications:\n%s\nwant exactly one naming the certificate and the cause", data)
	}
}

// setARI makes Pebble suggest [start, end) as the renewal window of leaf.
func setARI(t testing.TB, p *testenv.Pebble, leaf *x509.Certificate, start, end time.Time) {
	t.Helper()
	ari := fmt.Sprintf(`{"suggestedWindow":{"start":%q,"end":%q}}`, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	body, _ := json.Marshal(map[string]string{"Certificate": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})), "ARIResponse": ari})
	resp, err := p.HTTPClient().Post(p.MgmtURL+"/set-renewal-info/", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set-renewal-info: %s %s", resp.Status, msg)
	}
}

func TestMaintenanceWindowDefersDueRenewal(t *testing.T) {
	w := newWorld(t, "example.com")
	w.writeDomains(t, "window.example.com\n")
	if err := w.build(t).Controller.RunOnce(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	first := w.build(t)
	lin, _ := first.Store.Load("window.example.com")
	// Due now (the CA's window opened 2 days ago), deadline in 2 days: not
	// urgent, so it waits for the next tick of the schedule (every minute).
	now := time.Now()
	setARI(t, w.pebble, lin.Leaf, now.Add(-48*time.Hour), now.Add(48*time.Hour))
	w.env["CRON_TIME_STRING"] = "* * * * *"
	a := w.build(t)
	serve(t, a)
	tick := now.Truncate(time.Minute).Add(time.Minute)
	if time.Until(tick) > 3*time.Second {
		time.Sleep(time.Until(tick) - 2*time.Second)
		if v := version(a, "window.example.com"); v != 1 {
			t.Fatalf("a merely due certificate was renewed before the maintenance window (version %d)", v)
		}
	}
	eventually(t, 70*time.Second, "renewal at the maintenance tick", func() bool { return version(a, "window.example.com") == 2 })
	if renewedAt := time.Now(); renewedAt.Before(tick) {
		t.Errorf("renewed at %v, before the tick at %v", renewedAt, tick)
	}
	if !strings.Contains(w.logs.String(), "waiting for the maintenance window") {
		t.Error("the deferral is not logged")
	}
}

func TestUnknownProfileNamesTheVariable(t *testing.T) {
	w := newWorld(t, "example.com")
	w.env["ACME_PROFILE"] = "bogus"
	w.writeDomains(t, "profile.example.com\n")
	res := w.build(t).Controller.RunOnce(context.Background())
	if err := res.Failed["profile.example.com"]; err == nil || !strings.Contains(err.Error(), "ACME_PROFILE: the CA offers default") {
		t.Fatalf("error %v does not name ACME_PROFILE and the offered profiles", err)
	}
}

func TestCorruptLineageAndAccountAreRepaired(t *testing.T) {
	w := newWorld(t, "example.com")
	w.writeDomains(t, "good.example.com\nbroken.example.com\nmismatch.example.com\n")
	if err := w.build(t).Controller.RunOnce(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	// Break one lineage's archive (a dangling live link), give another a
	// key that does not match its certificate, and garble the account key.
	if err := os.Remove(filepath.Join(w.dir, "archive", "broken.example.com", "privkey1.pem")); err != nil {
		t.Fatal(err)
	}
	other, _ := os.ReadFile(filepath.Join(w.dir, "archive", "good.example.com", "privkey1.pem"))
	if err := os.WriteFile(filepath.Join(w.dir, "archive", "mismatch.example.com", "privkey1.pem"), other, 0o640); err != nil {
		t.Fatal(err)
	}
	keys, _ := filepath.Glob(filepath.Join(w.dir, "accounts", "*", "*", "certdock", "private_key.pem"))
	if len(keys) != 1 {
		t.Fatalf("account keys: %v", keys)
	}
	if err := os.WriteFile(keys[0], []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := w.build(t)
	a.Startup()
	res := a.Controller.RunOnce(context.Background())
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Issued, []string{"broken.example.com", "mismatch.example.com"}) {
		t.Fatalf("re-issued %v, want only the two corrupt lineages", res.Issued)
	}
	if version(a, "good.example.com") != 1 || version(a, "broken.example.com") != 2 || version(a, "mismatch.example.com") != 2 {
		t.Fatal("versions after repair are wrong")
	}
	if !strings.Contains(w.logs.String(), "ACME account key unreadable") {
		t.Error("no warning about the unreadable account key")
	}
}
