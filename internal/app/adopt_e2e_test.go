package app_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/certdock/certdock/internal/testenv"
)

// TestAdoptCertbotVolume starts certdock on a volume certbot wrote (same
// Pebble, same bind9): certdock uses certbot's ACME account, keeps the valid
// certificate, continues the archive numbering on renewal, and certbot can
// still read the lineage afterwards.
func TestAdoptCertbotVolume(t *testing.T) {
	w := newWorld(t, "example.com")
	const name = "adopt.example.com"
	testenv.RunCertbot(t, w.pebble, w.bind, w.dir, name)
	testenv.RunCertbotArgs(t, w.pebble, w.bind, w.dir, []string{"--force-renewal"}, name)
	certbotVersion := lastArchiveVersion(t, w.dir, name)
	if certbotVersion != 2 {
		t.Fatalf("certbot left version %d in the archive, want 2", certbotVersion)
	}
	certbotCert, err := os.ReadFile(filepath.Join(w.dir, "live", name, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}

	w.writeDomains(t, name+"\n")
	a := w.build(t)
	ctx := context.Background()
	res := a.Controller.RunOnce(ctx)
	if err := res.Err(); err != nil {
		t.Fatalf("first pass: %v", err)
	}
	if len(res.Issued) != 0 || !slices.Contains(res.Unchanged, name) {
		t.Fatalf("first pass on certbot's volume: issued %v, unchanged %v; want certbot's certificate kept", res.Issued, res.Unchanged)
	}
	if v := version(a, name); v != certbotVersion {
		t.Errorf("version %d after adoption, want certbot's %d", v, certbotVersion)
	}
	if now, _ := os.ReadFile(filepath.Join(w.dir, "live", name, "cert.pem")); string(now) != string(certbotCert) {
		t.Error("live cert.pem changed although certbot's certificate is valid")
	}

	res = a.Controller.Renew(ctx, []string{name}, true)
	if len(res.Issued) != 1 {
		t.Fatalf("forced renewal: %+v", res)
	}
	if v := version(a, name); v != certbotVersion+1 {
		t.Errorf("version %d after renewal, want %d (certbot's numbering continued)", v, certbotVersion+1)
	}
	logs := w.logs.String()
	if !strings.Contains(logs, "using certbot's ACME account") {
		t.Error(`no "using certbot's ACME account" in the logs`)
	}
	if strings.Contains(logs, "registered ACME account") {
		t.Error("certdock registered an account of its own instead of using certbot's")
	}
	for _, f := range []string{"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"} {
		link := filepath.Join(w.dir, "live", name, f)
		target, err := os.Readlink(link)
		if err != nil {
			t.Errorf("%s: %v", link, err)
			continue
		}
		want := filepath.Join("..", "..", "archive", name, strings.TrimSuffix(f, ".pem")+strconv.Itoa(certbotVersion+1)+".pem")
		if target != want {
			t.Errorf("%s -> %s, want %s", link, target, want)
		}
	}

	out, err := testenv.Certbot(t, w.pebble, "certificates", "--config-dir", w.dir,
		"--work-dir", t.TempDir(), "--logs-dir", t.TempDir())
	t.Logf("certbot certificates:\n%s", out)
	if err != nil || !strings.Contains(out, "Certificate Name: "+name) || strings.Contains(out, "invalid") {
		t.Errorf("certbot certificates after certdock's renewal (err %v):\n%s", err, out)
	}
}

// lastArchiveVersion is the highest N of archive/<name>/certN.pem.
func lastArchiveVersion(t *testing.T, dir, name string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "archive", name))
	if err != nil {
		t.Fatal(err)
	}
	last := 0
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), "cert")
		if !ok {
			continue
		}
		if v, err := strconv.Atoi(strings.TrimSuffix(n, ".pem")); err == nil && v > last {
			last = v
		}
	}
	return last
}
