package app_test

// Fault injection on real Pebble + bind9 (+ Docker): certdock talks to
// Pebble through a testenv.ACMEProxy that counts requests by endpoint and
// injects outages, error statuses, rate limits and delays.

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/providers/dns/dnsupdate"

	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/internal/app"
	"github.com/certdock/certdock/internal/testenv"
	"github.com/certdock/certdock/store"
)

// newProxiedWorld is newWorld with certdock pointed at Pebble through an
// ACMEProxy (directory and TLS trust), from the first request on.
func newProxiedWorld(t *testing.T, zones ...string) (*world, *testenv.ACMEProxy) {
	t.Helper()
	w := newWorld(t, zones...)
	ap := testenv.StartACMEProxy(t, w.pebble)
	w.env["ACME_DIRECTORY_URL"] = ap.DirectoryURL
	w.env["ACME_CA_CERTIFICATES"] = ap.CAFile
	return w, ap
}

// daemon is a running a.Serve.
type daemon struct {
	cancel context.CancelFunc
	done   chan error
	err    error
	exited bool
}

// startDaemonOf runs a.Serve (the daemon) until stop is called or the
// test ends.
func startDaemonOf(t testing.TB, a *app.App) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- a.Serve(ctx, false) }()
	t.Cleanup(func() {
		if err := d.stop(); err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	return d
}

// running reports whether Serve has not returned.
func (d *daemon) running() bool {
	if d.exited {
		return false
	}
	select {
	case err := <-d.done:
		d.err, d.exited = err, true
		return false
	default:
		return true
	}
}

// stop cancels Serve and returns its result; later calls return the same.
func (d *daemon) stop() error {
	d.cancel()
	if !d.exited {
		d.err, d.exited = <-d.done, true
	}
	return d.err
}

// lineageState reads name's entry of CERTDOCK_DIR/certdock/state.json from
// disk (nil when there is none).
func lineageState(t testing.TB, dir, name string) *store.LineageState {
	t.Helper()
	st, err := store.New(dir, store.Options{}).LoadState()
	if err != nil {
		t.Fatalf("state.json: %v", err)
	}
	if st == nil {
		return nil
	}
	return st.Lineages[name]
}

// advanceBackoff moves the persisted next attempt of every failing
// certificate to in from now, standing in for the minutes a backoff lasts
// (1 min doubling, with no setting to shorten it). No certdock may be
// running on dir: the next one built reads the edited state.
func advanceBackoff(t testing.TB, dir string, in time.Duration) {
	t.Helper()
	s := store.New(dir, store.Options{})
	st, err := s.LoadState()
	if err != nil || st == nil {
		t.Fatalf("state.json: %v", err)
	}
	n := 0
	for _, ls := range st.Lineages {
		if ls.Failures > 0 {
			ls.NextAttempt = time.Now().Add(in)
			n++
		}
	}
	if n == 0 {
		t.Fatal("advanceBackoff: no certificate is backing off")
	}
	if err := s.SaveState(st); err != nil {
		t.Fatal(err)
	}
}

// noChallengeRecords fails t if bind holds an _acme-challenge TXT record
// for any of names.
func noChallengeRecords(t testing.TB, b *testenv.Bind, names ...string) {
	t.Helper()
	for _, n := range names {
		fqdn := "_acme-challenge." + strings.TrimPrefix(n, "*.") + "."
		if txt := b.TXT(t, fqdn); len(txt) != 0 {
			t.Errorf("challenge record left at %s: %v", fqdn, txt)
		}
	}
}

func TestRestartsPlaceNoOrders(t *testing.T) {
	w, ap := newProxiedWorld(t, "example.com")
	names := []string{"one.example.com", "three.example.com", "two.example.com"}
	w.writeDomains(t, strings.Join(names, "\n")+"\n")
	ctx := context.Background()
	if res := w.build(t).Controller.RunOnce(ctx); !slices.Equal(res.Issued, names) || res.Err() != nil {
		t.Fatalf("first issuance: issued %v, err %v", res.Issued, res.Err())
	}
	if n := ap.Count(testenv.EndpointNewOrder); n != len(names) {
		t.Fatalf("first issuance placed %d orders, want %d", n, len(names))
	}
	t.Logf("first issuance: %s", ap.Summary(time.Time{}))

	const restarts = 20
	before := time.Now()
	var perRestart []int
	for i := range restarts {
		since := time.Now()
		a := w.build(t)
		mode := "run --once"
		if i%5 == 4 {
			// The daemon: its first pass decides every certificate (the
			// ARI windows recorded by the first restart are still fresh)
			// and schedules the next check; give it a second to do
			// anything else it would do.
			mode = "daemon"
			d := startDaemonOf(t, a)
			eventually(t, 20*time.Second, "the daemon's first pass", func() bool {
				ok, _ := a.Health.Status()
				return ok
			})
			time.Sleep(time.Until(since.Add(time.Second)))
			if !d.running() {
				t.Fatalf("restart %d: the daemon exited: %v", i+1, d.err)
			}
			if err := d.stop(); err != nil {
				t.Fatalf("restart %d: daemon: %v", i+1, err)
			}
		} else {
			res := a.Controller.RunOnce(ctx)
			if len(res.Issued) != 0 || !slices.Equal(res.Unchanged, names) || res.Err() != nil {
				t.Fatalf("restart %d: issued %v, unchanged %v, err %v", i+1, res.Issued, res.Unchanged, res.Err())
			}
		}
		n := ap.CountSince(since)
		perRestart = append(perRestart, n)
		t.Logf("restart %2d (%s): %d requests: %s", i+1, mode, n, ap.Summary(since))
	}
	if n := ap.CountSince(before, testenv.EndpointNewOrder, testenv.EndpointFinalize, testenv.EndpointNewAccount); n != 0 {
		t.Errorf("%d restarts with valid certificates placed %d new orders, finalizations or accounts: %s", restarts, n, ap.Summary(before))
	}
	// Each restart may read the directory and ask the CA's renewal window
	// of each certificate once; nothing else.
	if maxN := slices.Max(perRestart); maxN > 1+len(names) {
		t.Errorf("a restart sent %d requests, want at most %d (directory + one ARI lookup per certificate): %v", maxN, 1+len(names), perRestart)
	}
	for _, n := range names {
		if m, _ := filepath.Glob(filepath.Join(w.dir, "archive", n, "cert*.pem")); len(m) != 1 {
			t.Errorf("%s: archive holds %v after %d restarts, want version 1 only", n, m, restarts)
		}
	}
}

func TestCAErrorsBackOffAndRecover(t *testing.T) {
	w, ap := newProxiedWorld(t, "example.com")
	const five, limited = "five.example.com", "limited.example.com"
	w.writeDomains(t, five+"\n")

	// The CA answers 500 to every new order.
	ap.Status(500, "/order-plz")
	a := w.build(t)
	started := time.Now()
	d := startDaemonOf(t, a)
	eventually(t, 20*time.Second, "the failure to be recorded", func() bool { return a.Controller.Failures()[five].Count >= 1 })
	failedAt := time.Now()
	f := a.Controller.Failures()[five]
	t.Logf("5xx failure after %s: %v", ap.Summary(started), f.Err)
	if f.Count != 1 || !strings.Contains(f.Err.Error(), "500") {
		t.Errorf("failure %+v, want one failure naming the 500", f)
	}
	// 1 min backoff, measured from the failure.
	if f.Next.Before(started.Add(time.Minute)) || f.Next.After(failedAt.Add(time.Minute)) {
		t.Errorf("next attempt %v, want 1 min after the failure (between %v and %v)", f.Next, started.Add(time.Minute), failedAt.Add(time.Minute))
	}
	ls := lineageState(t, w.dir, five)
	if ls == nil || ls.Failures != 1 || !ls.NextAttempt.Equal(f.Next) || !strings.Contains(ls.LastError, "500") {
		t.Fatalf("state.json entry %+v, want the failure, its error and its next attempt %v", ls, f.Next)
	}

	// For 5 s, with passes poked like edits of domains.conf, nothing is
	// sent to the CA: the backoff holds, no hot loop.
	const window = 5 * time.Second
	for time.Since(failedAt) < window {
		a.Controller.TriggerNow()
		time.Sleep(250 * time.Millisecond)
	}
	inWindow := ap.CountSince(failedAt)
	t.Logf("requests in the %v after the failure: %d (%s); new orders in total: %d", window, inWindow, ap.Summary(failedAt), ap.Count(testenv.EndpointNewOrder))
	if n := ap.Count(testenv.EndpointNewOrder); n != 1 {
		t.Errorf("%d new-order requests, want exactly 1 (no retry before the backoff ends)", n)
	}
	if inWindow > 0 {
		t.Errorf("%d requests during the backoff, want none: %s", inWindow, ap.Summary(failedAt))
	}
	if !d.running() {
		t.Fatalf("the daemon exited: %v", d.err)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}

	// A restart keeps the backoff: the new daemon's first pass sends nothing.
	restarted := time.Now()
	b := w.build(t)
	if g := b.Controller.Failures()[five]; g.Count != 1 || !g.Next.Equal(f.Next) {
		t.Fatalf("after a restart: %+v, want the persisted %+v", g, f)
	}
	d = startDaemonOf(t, b)
	eventually(t, 10*time.Second, "the restarted daemon's first pass", func() bool { return b.Controller.Passes() >= 1 })
	time.Sleep(time.Second)
	if n := ap.CountSince(restarted); n != 0 {
		t.Errorf("the restarted daemon sent %d requests during the backoff: %s", n, ap.Summary(restarted))
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}

	// The CA heals; once the backoff is over (moved forward here instead
	// of waiting a minute), a daemon retries by itself and recovers with
	// one order.
	ap.Heal()
	healed := time.Now()
	advanceBackoff(t, w.dir, 300*time.Millisecond)
	c := w.build(t)
	startDaemonOf(t, c)
	eventually(t, 20*time.Second, "automatic recovery", func() bool { return version(c, five) == 1 })
	if n := ap.CountSince(healed, testenv.EndpointNewOrder); n != 1 {
		t.Errorf("recovery placed %d orders, want 1", n)
	}
	eventually(t, 5*time.Second, "the failure streak to be cleared", func() bool {
		ls := lineageState(t, w.dir, five)
		return ls != nil && ls.Failures == 0 && ls.NextAttempt.IsZero() && ls.LastError == ""
	})
	if _, ok := c.Controller.Failures()[five]; ok {
		t.Error("the recovered certificate is still listed as failing")
	}

	// 429 with Retry-After: 120 s. A new line is tried at once, rate
	// limited, and not tried again while the CA said to wait.
	ap.RateLimit(120*time.Second, "/order-plz")
	added := time.Now()
	w.writeDomains(t, five+"\n"+limited+"\n")
	eventually(t, 20*time.Second, "the rate-limited failure", func() bool { return c.Controller.Failures()[limited].Count >= 1 })
	limitedAt := time.Now()
	g := c.Controller.Failures()[limited]
	t.Logf("429 failure: %v; next attempt in %v", g.Err, time.Until(g.Next).Round(time.Second))
	if g.Count != 1 || !strings.Contains(g.Err.Error(), "rateLimited") {
		t.Errorf("failure %+v, want one rateLimited failure", g)
	}
	if g.Next.Before(added.Add(120 * time.Second)) {
		t.Errorf("next attempt %v is sooner than the CA's Retry-After (120 s after %v)", g.Next, added)
	}
	if ls := lineageState(t, w.dir, limited); ls == nil || !ls.NextAttempt.Equal(g.Next) || ls.Failures != 1 {
		t.Errorf("state.json entry %+v, want the rate-limited failure with next attempt %v", ls, g.Next)
	}
	for time.Since(limitedAt) < 3*time.Second {
		c.Controller.TriggerNow()
		time.Sleep(250 * time.Millisecond)
	}
	if n := ap.CountSince(added, testenv.EndpointNewOrder); n != 1 {
		t.Errorf("%d new-order requests since the line was added, want 1 (%s)", n, ap.Summary(added))
	}
	if n := ap.CountSince(limitedAt); n != 0 {
		t.Errorf("%d requests while rate limited: %s", n, ap.Summary(limitedAt))
	}
	if version(c, five) != 1 {
		t.Error("the healthy certificate was touched")
	}
}

func TestDNSServerDownFailsClearlyAndRecovers(t *testing.T) {
	w, ap := newProxiedWorld(t, "example.com")
	names := []string{"alpha.example.com", "beta.example.com"}
	w.writeDomains(t, strings.Join(names, "\n")+"\n")
	w.bind.Stop(t)

	a := w.build(t)
	started := time.Now()
	d := startDaemonOf(t, a)
	eventually(t, 30*time.Second, "both certificates to fail", func() bool {
		f := a.Controller.Failures()
		return f[names[0]].Count >= 1 && f[names[1]].Count >= 1
	})
	for _, n := range names {
		err := a.Controller.Failures()[n].Err
		t.Logf("%s: %v", n, err)
		msg := err.Error()
		if !strings.Contains(msg, w.bind.Addr) || !strings.Contains(msg, "DNSUPDATE_") {
			t.Errorf("%s: error does not name the DNS server %s and the DNSUPDATE_ settings: %v", n, w.bind.Addr, err)
		}
		if strings.Contains(msg, "ACME_DIRECTORY_URL") {
			t.Errorf("%s: error blames the CA for a DNS server that is down: %v", n, err)
		}
	}
	t.Logf("requests while DNS was down: %s", ap.Summary(started))
	if n := ap.CountSince(started, testenv.EndpointNewOrder); n != len(names) {
		t.Errorf("%d orders, want one per certificate (%d)", n, len(names))
	}
	if !d.running() {
		t.Fatalf("the daemon exited: %v", d.err)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}

	// bind comes back on the same address; when the backoff is over
	// (moved forward here), the daemon recovers by itself.
	w.bind.Start(t)
	healed := time.Now()
	advanceBackoff(t, w.dir, 300*time.Millisecond)
	b := w.build(t)
	startDaemonOf(t, b)
	eventually(t, 30*time.Second, "recovery once bind is back", func() bool {
		return version(b, names[0]) == 1 && version(b, names[1]) == 1
	})
	if n := ap.CountSince(healed, testenv.EndpointNewOrder); n != len(names) {
		t.Errorf("recovery placed %d orders, want %d", n, len(names))
	}
	noChallengeRecords(t, w.bind, names...)
}

// zoneProvider routes each challenge to the provider of its zone, as a
// provider whose credentials cover only some zones behaves (a DNS API
// token scoped to one zone).
type zoneProvider struct {
	byZone map[string]*dnsupdate.DNSProvider // zone without trailing dot
	any    *dnsupdate.DNSProvider            // timeouts and sequencing
}

func (p zoneProvider) pick(domain string) (*dnsupdate.DNSProvider, error) {
	domain = strings.TrimSuffix(strings.TrimPrefix(domain, "*."), ".")
	for zone, prov := range p.byZone {
		if domain == zone || strings.HasSuffix(domain, "."+zone) {
			return prov, nil
		}
	}
	return nil, fmt.Errorf("zoneProvider: no zone for %s", domain)
}

func (p zoneProvider) Present(ctx context.Context, domain, token, keyAuth string) error {
	prov, err := p.pick(domain)
	if err != nil {
		return err
	}
	return prov.Present(ctx, domain, token, keyAuth)
}

func (p zoneProvider) CleanUp(ctx context.Context, domain, token, keyAuth string) error {
	prov, err := p.pick(domain)
	if err != nil {
		return err
	}
	return prov.CleanUp(ctx, domain, token, keyAuth)
}

func (p zoneProvider) Timeout() (time.Duration, time.Duration) { return p.any.Timeout() }
func (p zoneProvider) Sequential() time.Duration               { return p.any.Sequential() }

func TestWrongTSIGForOneZone(t *testing.T) {
	w, ap := newProxiedWorld(t, "example.com", "example.net")
	const good, bad = "good.example.com", "bad.example.net"
	w.writeDomains(t, good+"\n"+bad+"\n")
	const wrongSecret = "d3Jvbmctc2VjcmV0LWZvci1leGFtcGxlLW5ldC16b25lIQ=="
	provider := func(zone, secret string) *dnsupdate.DNSProvider {
		cfg := dnsupdate.NewDefaultConfig()
		cfg.Nameserver, cfg.Zones = w.bind.Addr, []string{zone}
		cfg.TSIGKey, cfg.TSIGSecret, cfg.TSIGAlgorithm = w.bind.KeyName, secret, w.bind.KeyAlgorithm
		p, err := dnsupdate.NewDNSProviderConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	right := provider("example.com", w.bind.KeySecret)
	zp := zoneProvider{byZone: map[string]*dnsupdate.DNSProvider{
		"example.com": right,
		"example.net": provider("example.net", wrongSecret),
	}, any: right}

	cfg, err := config.FromEnv(func(k string) string { return w.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.Build(cfg, log, app.Options{Provider: func(string) (challenge.Provider, error) { return zp, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("certdock logs:\n%s", w.logs.String())
		}
	})

	res := a.Controller.RunOnce(context.Background())
	if !slices.Equal(res.Issued, []string{good}) {
		t.Fatalf("issued %v (failed %v), want %s only", res.Issued, res.Failed, good)
	}
	ferr := res.Failed[bad]
	if ferr == nil {
		t.Fatalf("%s did not fail", bad)
	}
	t.Logf("%s: %v", bad, ferr)
	if msg := ferr.Error(); !strings.Contains(msg, "bad authentication") || !strings.Contains(msg, bad) || !strings.Contains(msg, "DNSUPDATE_") {
		t.Errorf("error does not say that the update for %s was refused for its signature and what to check: %v", bad, ferr)
	}
	if strings.Contains(ferr.Error(), wrongSecret) || strings.Contains(w.logs.String(), wrongSecret) {
		t.Error("the TSIG secret leaked into an error or a log line")
	}
	if f := a.Controller.Failures()[bad]; f.Count != 1 {
		t.Errorf("failure of %s not recorded: %+v", bad, f)
	}
	if n := ap.Count(testenv.EndpointNewOrder); n != 2 {
		t.Errorf("%d orders, want one per certificate", n)
	}
	noChallengeRecords(t, w.bind, good, bad)
}

func TestCARejectsChallengeRecordIsRemoved(t *testing.T) {
	w, ap := newProxiedWorld(t, "example.com")
	const name = "rejected.example.com"
	w.writeDomains(t, name+"\n")
	// The challenge POST (sent once the TXT record is in place) is held
	// for a moment, then refused with a 500.
	ap.Delay(time.Second, "/chalZ/")
	ap.Status(500, "/chalZ/")
	a := w.build(t)
	done := make(chan controller.Result, 1)
	go func() { done <- a.Controller.RunOnce(context.Background()) }()

	fqdn := "_acme-challenge." + name + "."
	var seen []string
	var res controller.Result
wait:
	for {
		select {
		case res = <-done:
			break wait
		case <-time.After(20 * time.Millisecond):
			if seen == nil {
				seen = w.bind.TXT(t, fqdn)
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("the challenge record was never seen at bind: the test did not exercise a rejection after it was written")
	}
	t.Logf("record seen while the CA was answering: %v", seen)
	ferr := res.Failed[name]
	if ferr == nil || !strings.Contains(ferr.Error(), "500") {
		t.Fatalf("result %+v, want %s to fail with the CA's 500", res, name)
	}
	t.Logf("%s: %v", name, ferr)
	if n := ap.Count(testenv.EndpointChallenge); n != 1 {
		t.Errorf("%d challenge requests, want 1", n)
	}
	noChallengeRecords(t, w.bind, name)
}

func TestSlowCAOrdersOncePerCertificate(t *testing.T) {
	w, ap := newProxiedWorld(t, "example.com")
	names := []string{"slow1.example.com", "slow2.example.com"}
	w.writeDomains(t, strings.Join(names, "\n")+"\n")
	const delay = 1500 * time.Millisecond
	ap.Delay(delay)
	start := time.Now()
	res := w.build(t).Controller.RunOnce(context.Background())
	took := time.Since(start)
	if !slices.Equal(res.Issued, names) || res.Err() != nil {
		t.Fatalf("with %v per answer: issued %v, err %v", delay, res.Issued, res.Err())
	}
	t.Logf("2 certificates with %v per answer: %v, %d requests: %s", delay, took.Round(100*time.Millisecond), ap.Count(), ap.Summary(time.Time{}))
	for _, r := range ap.Requests() {
		if r.Delay != delay {
			t.Fatalf("request %+v was not delayed", r)
		}
	}
	for _, e := range []testenv.Endpoint{testenv.EndpointNewOrder, testenv.EndpointFinalize, testenv.EndpointChallenge} {
		if n := ap.Count(e); n != len(names) {
			t.Errorf("%d %s requests, want exactly one per certificate (%d)", n, e, len(names))
		}
	}
	if n := ap.Count(testenv.EndpointNewAccount); n > 2 {
		t.Errorf("%d new-account requests, want at most 2 (lookup, then registration)", n)
	}
	roots := w.pebble.Roots(t)
	for _, n := range names {
		checkLineage(t, w.dir, n, []string{n}, roots, 1)
	}
	noChallengeRecords(t, w.bind, names...)
}

func TestDockerCutBoundsReconnects(t *testing.T) {
	testenv.RequireDocker(t)
	w := newWorld(t, "example.com")
	w.writeDomains(t, "")
	// certdock → outer → inner → engine. Cutting inner ends the event
	// stream mid-way; outer stays up and counts every connection certdock
	// opens, including the attempts that die at once while inner is cut.
	inner := testenv.StartUnixProxy(t, testenv.DockerSocket())
	outer := testenv.StartUnixProxy(t, inner.Addr)
	suffix := time.Now().UnixNano() % 1e6
	served := fmt.Sprintf("cd-faultpre-%d", suffix)
	runContainer(t, served, map[string]string{"certdock.domains": "faultpre.example.com", "certdock.exec": "touch /tmp/served"}, idleScript)
	w.startDaemon(t, "unix://"+outer.Addr)
	// Steady state first: connected, resynced, the labelled container
	// served.
	eventually(t, 30*time.Second, "the labelled container to be served", func() bool { return existsInContainer(served, "/tmp/served") })
	const connected = "connected to Docker, watching events"
	connects := strings.Count(w.logs.String(), connected)
	if connects != 1 {
		t.Fatalf("%d connections logged before the cut, want 1", connects)
	}

	inner.Cut()
	cutAt, before := time.Now(), outer.Connections()
	name := fmt.Sprintf("cd-faultcut-%d", suffix)
	runContainer(t, name, map[string]string{"certdock.domains": "faultcut.example.com", "certdock.exec": "touch /tmp/cut"}, idleScript)
	eventually(t, 5*time.Second, "the lost stream to be noticed", func() bool { return strings.Contains(w.logs.String(), "Docker event stream lost") })
	const window = 5 * time.Second
	time.Sleep(time.Until(cutAt.Add(window)))
	attempts := outer.Connections() - before
	inner.Restore()

	// docker.Watch reconnects after 100 ms, doubling (to 30 s): in 5 s,
	// 5 attempts (at 0.1, 0.3, 0.7, 1.5 and 3.1 s; the 6th would be at
	// 6.3 s), plus one spare for scheduling, each a ping of up to 2
	// connections (HEAD, then GET). Nothing triggers a pass meanwhile (no
	// event can arrive), so no listing is attempted. A hot loop would make
	// hundreds.
	const bound = 2 * 6
	t.Logf("connection attempts while the engine was cut for %v: %d (bound %d)", window, attempts, bound)
	if attempts > bound {
		t.Errorf("%d connection attempts in %v, want at most %d (reconnect backoff)", attempts, window, bound)
	}
	if attempts < 2 {
		t.Errorf("%d connection attempts in %v: the watch did not try to reconnect", attempts, window)
	}

	eventually(t, 30*time.Second, "resync after the engine is back: the container labelled during the cut is served", func() bool {
		return existsInContainer(name, "/tmp/cut")
	})
	if n := strings.Count(w.logs.String(), connected); n <= connects {
		t.Errorf("no reconnection logged (%d connections before the cut, %d now)", connects, n)
	}
}

func TestCADownDaemonBacksOff(t *testing.T) {
	w, ap := newProxiedWorld(t, "example.com")
	names := []string{"down1.example.com", "down2.example.com"}
	w.writeDomains(t, strings.Join(names, "\n")+"\n")
	ap.Down() // every connection to the CA is reset
	a := w.build(t)
	d := startDaemonOf(t, a)
	eventually(t, 30*time.Second, "both certificates to fail", func() bool {
		f := a.Controller.Failures()
		return f[names[0]].Count >= 1 && f[names[1]].Count >= 1
	})
	failedAt := time.Now()
	attempts := ap.Count()
	t.Logf("connections to the CA until both failed: %d (%s); error: %v", attempts, ap.Summary(time.Time{}), a.Controller.Failures()[names[0]].Err)
	// Each certificate's attempt fails at its first request (the
	// directory), which Go's HTTP client may retry once.
	if attempts > 2*len(names) {
		t.Errorf("%d connections for %d failing certificates, want at most %d", attempts, len(names), 2*len(names))
	}
	for _, n := range names {
		if ls := lineageState(t, w.dir, n); ls == nil || ls.Failures != 1 || !ls.NextAttempt.After(failedAt.Add(50*time.Second)) {
			t.Errorf("%s: state.json entry %+v, want one failure and the next attempt a minute away", n, ls)
		}
	}
	for time.Since(failedAt) < 3*time.Second {
		a.Controller.TriggerNow()
		time.Sleep(250 * time.Millisecond)
	}
	if n := ap.CountSince(failedAt); n != 0 {
		t.Errorf("%d connections to the CA during the backoff, want none", n)
	}
	if !d.running() {
		t.Fatalf("the daemon exited: %v", d.err)
	}
}
