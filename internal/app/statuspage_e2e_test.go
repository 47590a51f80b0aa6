package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/certstatus"
	"github.com/certdock/certdock/internal/testenv"
)

// The status page as a real browser renders it, served by the daemon on
// real Pebble, bind9 and Docker: a domains.conf certificate, a label
// certificate whose exec label carries markup, a certificate that fails
// (its zone is not served) and a malformed label. Markup from labels is
// shown as text, never run. The screenshot is kept in the test's artifact
// directory (go test -artifacts -outputdir DIR keeps it; CERTDOCK_TEST_ARTIFACTS
// names a directory it is also copied to).
func TestStatusPageInABrowser(t *testing.T) {
	testenv.RequireDocker(t)
	browser := testenv.StartChromium(t)
	w := newWorld(t, "example.com")
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
	webC, badC := "cd-page-"+suffix, "cd-pagebad-"+suffix
	const payload = `<script>document.body.setAttribute("data-pwned","1")</script>`
	runContainer(t, webC, map[string]string{
		"certdock.domains": "web.example.com,www.web.example.com",
		"certdock.exec":    "echo '" + payload + "'",
	}, idleScript)
	runContainer(t, badC, map[string]string{"certdock.domains": "bad.example.com", "certdock.signal": `<img src=x onerror="document.title='pwned'">`}, idleScript)
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	w.env["CERTDOCK_LISTEN"] = addr
	w.writeDomains(t, "file.example.com\nfails.example.net\n")
	a := w.startDaemon(t, "unix://"+testenv.DockerSocket())
	base := "http://" + addr

	var rows []certstatus.Row
	eventually(t, 60*time.Second, "web.example.com issued and fails.example.net failed, in /api/status", func() bool {
		code, body := get(t, base+"/api/status")
		if code != http.StatusOK || json.Unmarshal([]byte(body), &rows) != nil {
			return false
		}
		ok := 0
		for _, r := range rows {
			if (r.Name == "web.example.com" || r.Name == "file.example.com") && r.State == certstatus.StateOK {
				ok++
			}
			if r.Name == "fails.example.net" && r.Failures > 0 {
				ok++
			}
		}
		return ok == 3
	})
	if v := version(a, "web.example.com"); v != 1 {
		t.Fatalf("web.example.com at version %d", v)
	}

	dom := browser.DumpDOM(t, base+"/")
	for _, want := range []string{
		`data-name="web.example.com"`, `data-name="file.example.com"`, `data-name="fails.example.net"`,
		"www.web.example.com", "workload container " + webC, "domains.conf:1",
		// The exec label's markup, as text.
		`&lt;script&gt;document.body.setAttribute(`, `)&lt;/script&gt;`,
		// The malformed label, reported as text.
		"container " + badC + ": label certdock.signal", `&lt;img src=x onerror=`,
		"renew at ", "reason: valid", "<meter", "of 90 days left",
		"failed in a row; next attempt", "reason: certificate missing",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	for _, never := range []string{"data-pwned=", "<title>pwned", "<img", "<script", "PRIVATE KEY", "BEGIN CERTIFICATE"} {
		if strings.Contains(dom, never) {
			t.Errorf("the rendered page has %q", never)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
	_, api := get(t, base+"/api/status")
	if strings.Contains(api, "PRIVATE KEY") || strings.Contains(api, "BEGIN") {
		t.Errorf("/api/status has key or certificate material")
	}

	shot := filepath.Join(t.ArtifactDir(), "status-page.png")
	browser.Screenshot(t, base+"/", shot, 1700, 800)
	if dir := os.Getenv("CERTDOCK_TEST_ARTIFACTS"); dir != "" {
		b, err := os.ReadFile(shot)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "status-page.png"), b, 0o644)
		}
		if err != nil {
			t.Errorf("copying the screenshot to CERTDOCK_TEST_ARTIFACTS: %v", err)
		}
	}
	t.Logf("screenshot: %s", shot)
}
