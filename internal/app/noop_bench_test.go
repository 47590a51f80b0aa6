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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/challenge"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/internal/app"
	"github.com/certdock/certdock/internal/testenv"
	"github.com/certdock/certdock/store"
)

// noopSizes are the certificate counts the no-op benchmarks run at:
// 1,000 and 10,000 unless CERTDOCK_BENCH_CERTS lists others
// (comma-separated).
func noopSizes(b *testing.B) []int {
	b.Helper()
	spec := os.Getenv("CERTDOCK_BENCH_CERTS")
	if spec == "" {
		return []int{1000, 10000}
	}
	var out []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("CERTDOCK_BENCH_CERTS=%q: %q is not a certificate count", spec, f)
		}
		out = append(out, n)
	}
	return out
}

// errNoOrder is the DNS provider error of the no-op benchmarks: with it,
// any issuance the controller attempts fails at once (without an order),
// and the benchmark fails on the failed certificate.
var errNoOrder = errors.New("benchmark: a no-op renewal check must not order a certificate")

// BenchmarkNoopRenewalCheck measures one full pass over N valid lineages
// on disk (listed in domains.conf) that decides nothing is due, at each of
// noopSizes. It reports milliseconds per pass (targets at 1,000: warm ≤
// 20 ms, new process ≤ 100 ms; at 10,000: warm ≤ 100 ms with ≤ 1 KB
// allocated per certificate, new process ≤ 1 s), bytes allocated per
// certificate per pass, and the ARI requests the CA received per pass.
// Sub-benchmarks, per size:
//
//   - decide-only: controller.RunOnce over the real store and the real
//     domains.conf source, with no ARI, no lock files and state kept in
//     memory: the floor of reading and deciding N lineages.
//   - warm: the product's wiring (internal/app, as the binary), a pass
//     within a minute of the previous one in the same process.
//   - new-process: what a cron-driven `certdock run --once` does: the
//     product built afresh (state.json read) and one pass, with the ARI
//     answers the previous run recorded still fresh: no ARI request.
//   - new-process-no-ari: the same with a state file that records no ARI
//     answer (written by certdock before it persisted them): one ARI
//     request per certificate, 8 at a time.
//
// The lineages come from a CA made by the benchmark, so Pebble answers
// each ARI request with an error (recorded with its retry time like an
// answer); the round trip is what is measured.
func BenchmarkNoopRenewalCheck(b *testing.B) {
	w := newBenchWorld(b, "example.com")
	ap := testenv.StartACMEProxy(b, w.pebble)
	w.env["ACME_DIRECTORY_URL"] = ap.DirectoryURL
	w.env["ACME_CA_CERTIFICATES"] = ap.CAFile
	ctx := context.Background()
	for _, n := range noopSizes(b) {
		b.Run(fmt.Sprintf("certs=%d", n), func(b *testing.B) {
			w.dir = filepath.Join(b.TempDir(), "certs")
			w.env["CERTDOCK_DIR"] = w.dir
			writeNoopFixture(b, w.dir, ap.DirectoryURL, n)
			nl := noopLoop{n: n, ari: ap}

			b.Run("decide-only", func(b *testing.B) {
				discard := slog.New(slog.DiscardHandler)
				st := store.New(w.dir, store.Options{})
				src := app.DomainsSource(filepath.Join(w.dir, "domains.conf"), false, discard)
				ctrl := controller.New(st, failIssuer{tb: b, server: ap.DirectoryURL}, []controller.Source{src}, nil,
					controller.Options{Logger: discard})
				nl.check(b, ctrl.RunOnce(ctx)) // adopts the lineages (in memory)
				nl.run(b, nil, func() controller.Result { return ctrl.RunOnce(ctx) })
			})
			b.Run("warm", func(b *testing.B) {
				writeNoopState(b, w.dir, n, time.Now())
				a := w.buildNoop(b)
				nl.check(b, a.Controller.RunOnce(ctx)) // records every ARI answer
				nl.run(b, nil, func() controller.Result { return a.Controller.RunOnce(ctx) })
			})
			b.Run("new-process", func(b *testing.B) {
				// The state the warm pass left: fresh ARI answers.
				nl.run(b, nil, func() controller.Result {
					a := w.buildNoop(b)
					a.Startup()
					return a.Controller.RunOnce(ctx)
				})
			})
			b.Run("new-process-no-ari", func(b *testing.B) {
				nl.run(b, func() { writeNoopState(b, w.dir, n, time.Now()) }, func() controller.Result {
					a := w.buildNoop(b)
					a.Startup()
					return a.Controller.RunOnce(ctx)
				})
			})
		})
	}
}

// BenchmarkNoopRenewalCheckHourly measures the daemon's periodic pass over
// 1,000 valid lineages: in the same process as the previous pass (ARI
// windows recorded), but more than a minute later, so every certificate's
// "last wanted" time in certdock/state.json is refreshed. Each iteration
// waits 61 s untimed; run it with -benchtime 1x.
func BenchmarkNoopRenewalCheckHourly(b *testing.B) {
	const n = 1000
	w := newBenchWorld(b, "example.com")
	writeNoopFixture(b, w.dir, w.pebble.DirectoryURL, n)
	writeNoopState(b, w.dir, n, time.Now())
	ctx := context.Background()
	a := w.buildNoop(b)
	nl := noopLoop{n: n}
	nl.check(b, a.Controller.RunOnce(ctx)) // records the ARI answers
	nl.run(b, func() { time.Sleep(61 * time.Second) }, func() controller.Result { return a.Controller.RunOnce(ctx) })
}

// noopLoop times no-op passes over n certificates.
type noopLoop struct {
	n   int
	ari *testenv.ACMEProxy // counts ARI requests, when set
}

// run times pass per iteration, with untimed setup (may be nil) before
// each, and reports ms per pass, bytes allocated per certificate per pass
// and ARI requests per pass.
func (l noopLoop) run(b *testing.B, setup func(), pass func() controller.Result) {
	b.Helper()
	var (
		total      time.Duration
		alloc      uint64
		passes     int
		ariQueries int
		ms         runtime.MemStats
	)
	for b.Loop() {
		if setup != nil {
			b.StopTimer()
			setup()
			b.StartTimer()
		}
		runtime.ReadMemStats(&ms)
		before, start := ms.TotalAlloc, time.Now()
		since := start
		res := pass()
		total += time.Since(start)
		runtime.ReadMemStats(&ms)
		alloc += ms.TotalAlloc - before
		if l.ari != nil {
			ariQueries += l.ari.CountSince(since, testenv.EndpointRenewalInfo)
		}
		passes++
		l.check(b, res)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(passes), "ms/pass")
	b.ReportMetric(float64(alloc)/float64(passes)/float64(l.n), "B/cert")
	if l.ari != nil {
		b.ReportMetric(float64(ariQueries)/float64(passes), "ari-requests/pass")
	}
}

// check fails b unless the pass left every certificate unchanged.
func (l noopLoop) check(b *testing.B, res controller.Result) {
	b.Helper()
	if err := res.Err(); err != nil || len(res.Issued) != 0 || len(res.Unchanged) != l.n {
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
	// The store does not cache a lineage changed in the last second (file
	// times have a clock tick's granularity): a pass right now would
	// measure reads that a daemon makes only once.
	time.Sleep(1100 * time.Millisecond)
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
