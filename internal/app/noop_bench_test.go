package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/challenge"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/internal/app"
	"github.com/certdock/certdock/store"
)

// noopCerts is how many valid lineages the no-op renewal check walks.
const noopCerts = 1000

// errNoOrder is the DNS provider error of the no-op benchmarks: with it,
// any issuance the controller attempts fails at once (without an order),
// and the benchmark fails on the failed certificate.
var errNoOrder = errors.New("benchmark: a no-op renewal check must not order a certificate")

// BenchmarkNoopRenewalCheck measures one full pass over 1,000 valid
// lineages on disk (listed in domains.conf) that decides nothing is due.
// It reports milliseconds per pass (target ≤ 20 ms). Sub-benchmarks:
//
//   - decide-only: controller.RunOnce over the real store and the real
//     domains.conf source, with no ARI, no lock files and state kept in
//     memory: the floor of reading and deciding 1,000 lineages.
//   - warm: the product's wiring (internal/app, as the binary), a pass
//     within a minute of the previous one in the same process: every ARI
//     window is cached and no state entry is rewritten.
//   - cold-ari: a fresh process (certdock run --once, or the daemon's
//     first pass after a restart) whose state was written within the last
//     minute: one ARI request per certificate to Pebble, 8 at a time.
//   - cold: a fresh process whose state entries are older than a minute,
//     the usual case for a cron-driven `certdock run --once`: the ARI
//     requests plus one rewrite of certdock/state.json per certificate.
//
// The lineages come from a CA made by the benchmark, so Pebble answers
// each ARI request with an error; the round trip is what is measured.
func BenchmarkNoopRenewalCheck(b *testing.B) {
	w := newBenchWorld(b, "example.com")
	writeNoopFixture(b, w.dir, w.pebble.DirectoryURL, noopCerts)
	ctx := context.Background()

	b.Run("decide-only", func(b *testing.B) {
		discard := slog.New(slog.DiscardHandler)
		st := store.New(w.dir, store.Options{})
		src := app.DomainsSource(filepath.Join(w.dir, "domains.conf"), false, discard)
		ctrl := controller.New(st, failIssuer{tb: b, server: w.pebble.DirectoryURL}, []controller.Source{src}, nil,
			controller.Options{Logger: discard})
		checkNoop(b, ctrl.RunOnce(ctx)) // adopts the lineages (in memory)
		noopLoop(b, func() controller.Result { return ctrl.RunOnce(ctx) })
	})
	b.Run("warm", func(b *testing.B) {
		writeNoopState(b, w.dir, noopCerts, time.Now())
		a := w.buildNoop(b)
		checkNoop(b, a.Controller.RunOnce(ctx)) // fills the ARI cache
		noopLoop(b, func() controller.Result { return a.Controller.RunOnce(ctx) })
	})
	for _, tc := range []struct {
		name string
		age  time.Duration
	}{
		{"cold-ari", 0},
		{"cold", time.Hour},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var a *app.App
			noopLoopSetup(b, func() {
				writeNoopState(b, w.dir, noopCerts, time.Now().Add(-tc.age))
				a = w.buildNoop(b)
			}, func() controller.Result { return a.Controller.RunOnce(ctx) })
		})
	}
}

// BenchmarkNoopRenewalCheckHourly measures the daemon's periodic pass over
// 1,000 valid lineages: in the same process as the previous pass (ARI
// windows cached), but more than a minute later, so every certificate's
// "last wanted" time in certdock/state.json is refreshed. Each iteration
// waits 61 s untimed; run it with -benchtime 1x.
func BenchmarkNoopRenewalCheckHourly(b *testing.B) {
	w := newBenchWorld(b, "example.com")
	writeNoopFixture(b, w.dir, w.pebble.DirectoryURL, noopCerts)
	writeNoopState(b, w.dir, noopCerts, time.Now())
	ctx := context.Background()
	a := w.buildNoop(b)
	checkNoop(b, a.Controller.RunOnce(ctx)) // fills the ARI cache
	noopLoopSetup(b, func() { time.Sleep(61 * time.Second) }, func() controller.Result { return a.Controller.RunOnce(ctx) })
}

// noopLoop times pass per iteration and reports ms per pass.
func noopLoop(b *testing.B, pass func() controller.Result) {
	noopLoopSetup(b, nil, pass)
}

// noopLoopSetup is noopLoop with untimed setup before every pass.
func noopLoopSetup(b *testing.B, setup func(), pass func() controller.Result) {
	b.Helper()
	var total time.Duration
	n := 0
	for b.Loop() {
		if setup != nil {
			b.StopTimer()
			setup()
			b.StartTimer()
		}
		start := time.Now()
		res := pass()
		total += time.Since(start)
		n++
		checkNoop(b, res)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms/pass")
}

// checkNoop fails b unless the pass left every certificate unchanged.
func checkNoop(b *testing.B, res controller.Result) {
	b.Helper()
	if err := res.Err(); err != nil || len(res.Issued) != 0 || len(res.Unchanged) != noopCerts {
		b.Fatalf("not a no-op pass: issued %d, unchanged %d, err %v", len(res.Issued), len(res.Unchanged), err)
	}
}

// buildNoop wires the product as the binary does (logs at Info, as
// shipped), with a DNS provider that refuses every issuance.
func (w *world) buildNoop(b *testing.B) *app.App {
	b.Helper()
	cfg, err := config.FromEnv(func(k string) string { return w.env[k] })
	if err != nil {
		b.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.Build(cfg, log, app.Options{Provider: func(string) (challenge.Provider, error) { return nil, errNoOrder }})
	if err != nil {
		b.Fatalf("build: %v", err)
	}
	return a
}

// failIssuer fails the benchmark when the controller asks it to order.
type failIssuer struct {
	tb     testing.TB
	server string
}

var _ controller.Issuer = failIssuer{}

// Issue implements controller.Issuer.
func (f failIssuer) Issue(_ context.Context, spec cert.Spec, _ *cert.Lineage) (cert.Bundle, cert.IssueMeta, error) {
	f.tb.Errorf("the no-op pass ordered %s", spec.Name)
	return cert.Bundle{}, cert.IssueMeta{}, errNoOrder
}

// Revoke implements controller.Issuer.
func (f failIssuer) Revoke(context.Context, []byte) error {
	f.tb.Errorf("the no-op pass revoked a certificate")
	return errNoOrder
}

// RenewalWindow implements controller.Issuer: the decide-only floor
// has no ARI.
func (f failIssuer) RenewalWindow(context.Context, *x509.Certificate) (controller.Window, error) {
	return controller.Window{}, controller.ErrNoWindow
}

// Server implements controller.Issuer.
func (f failIssuer) Server() string { return f.server }

// noopName is the lineage name (and only domain) of the i-th certificate.
func noopName(i int) string { return fmt.Sprintf("n%04d.example.com", i) }

// writeNoopFixture writes n valid lineages (90-day certificates issued a
// day ago by a CA made here, recorded as issued by server) through the
// store, and a domains.conf listing them.
func writeNoopFixture(b *testing.B, dir, server string, n int) {
	b.Helper()
	start := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "certdock benchmark CA"},
		NotBefore:             now.Add(-48 * time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          []byte{1, 2, 3, 4, 5, 6, 7, 8},
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		b.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		b.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	// One leaf key for all: key generation is not what is measured.
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(leafKey)
	if err != nil {
		b.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})

	save := func(st *store.Dir, i int) error {
		name := noopName(i)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(1000 + i)),
			Subject:      pkix.Name{CommonName: name},
			DNSNames:     []string{name},
			NotBefore:    now.Add(-24 * time.Hour),
			NotAfter:     now.Add(89 * 24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, leafKey.Public(), caKey)
		if err != nil {
			return err
		}
		bundle := cert.Bundle{Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Chain: caPEM, PrivateKey: keyPEM}
		meta := cert.IssueMeta{Server: server, Account: "benchmark", KeyType: cert.EC256, Provider: "rfc2136", IssuedAt: now.Add(-24 * time.Hour)}
		_, err = st.Save(name, bundle, meta)
		return err
	}
	// The first save creates the top directories; the rest run in
	// parallel, each worker with its own Dir (Save serialises per Dir).
	if err := save(store.New(dir, store.Options{}), 0); err != nil {
		b.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	const workers = 8
	for k := range workers {
		wg.Go(func() {
			st := store.New(dir, store.Options{})
			for i := 1 + k; i < n; i += workers {
				if err := save(st, i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	for i := range n {
		sb.WriteString(noopName(i) + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "domains.conf"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote %d lineages in %v", n, time.Since(start).Round(time.Millisecond))
}

// writeNoopState writes certdock/state.json as certdock leaves it after a
// pass at lastWanted: every lineage owned and wanted by its domains.conf
// line.
func writeNoopState(b *testing.B, dir string, n int, lastWanted time.Time) {
	b.Helper()
	s := store.NewState()
	file := filepath.Join(dir, "domains.conf")
	for i := range n {
		ls := s.Lineage(noopName(i))
		ls.Owned, ls.Origin, ls.LastWanted = true, string(cert.FromFile), lastWanted
		ls.Source = cert.Source{Kind: cert.FromFile, File: file, Line: i + 1}.String()
	}
	if err := store.New(dir, store.Options{}).SaveState(s); err != nil {
		b.Fatal(err)
	}
}
