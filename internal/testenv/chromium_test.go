package testenv_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certdock/certdock/internal/testenv"
)

// The browser really renders: the DOM it dumps holds what the page's
// script built, and the screenshot is a PNG.
func TestChromiumRendersAPage(t *testing.T) {
	c := testenv.StartChromium(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!DOCTYPE html><html><body><p id="p">static</p><script>document.getElementById("p").textContent = "built by " + "script";</script></body></html>`)
	}))
	defer srv.Close()
	dom := c.DumpDOM(t, srv.URL)
	if !strings.Contains(dom, `<p id="p">built by script</p>`) {
		t.Fatalf("DOM:\n%s", dom)
	}
	path := filepath.Join(t.TempDir(), "shot.png")
	c.Screenshot(t, srv.URL, path, 400, 300)
	b, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
		t.Fatalf("screenshot: %v, %q", err, b[:min(8, len(b))])
	}
}
