package statuspage

import (
	"bytes"
	"context"
	_ "embed"
	"html/template"
	"net/http"
	"time"

	"github.com/certdock/certdock/internal/certstatus"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{"stamp": stamp}).Parse(pageHTML))

// Source returns the rows of every certificate and the configuration
// problems (bad domains.conf lines, bad labels) as the daemon sees them.
type Source func(ctx context.Context) (rows []certstatus.Row, problems []error)

// Options adjust Handler.
type Options struct {
	// Refresh is how often the page reloads itself (default 15 s).
	Refresh time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// securityHeaders forbid scripts, frames and any asset from elsewhere:
// the page is a document with inline styles and nothing else.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
	"Cache-Control":           "no-store",
}

// Handler serves GET (and HEAD) / (the page) and /api/status (the rows as
// `certdock status --json` prints them) from src. Other paths are left
// to the caller's mux: mount it with Register.
func Handler(src Source, opts Options) http.Handler {
	mux := http.NewServeMux()
	Register(mux, src, opts)
	return mux
}

// Register adds the page and /api/status to mux.
func Register(mux *http.ServeMux, src Source, opts Options) {
	if opts.Refresh <= 0 {
		opts.Refresh = 15 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		rows, problems := src(r.Context())
		var b bytes.Buffer
		if err := pageTemplate.Execute(&b, newPage(rows, problems, opts.Now(), opts.Refresh)); err != nil {
			http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
			return
		}
		header(w, "text/html; charset=utf-8")
		b.WriteTo(w) // a write error means the client went away
	})
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		rows, _ := src(r.Context())
		var b bytes.Buffer
		if err := certstatus.WriteJSON(&b, rows); err != nil {
			http.Error(w, "status: "+err.Error(), http.StatusInternalServerError)
			return
		}
		header(w, "application/json")
		b.WriteTo(w)
	})
}

func header(w http.ResponseWriter, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	for k, v := range securityHeaders {
		h.Set(k, v)
	}
}
