package sandbox

import (
	"net/http"
	"strings"
)

// Pebble's paths for finalizing an order and for the order itself (both
// unexported in package wfe; the issuance test pins them).
const (
	pebbleFinalizePath = "/finalize-order/"
	pebbleOrderPath    = "/my-order/"
)

// withFinalizeLocation adds a Location header with the order's URL to
// successful finalize responses. Let's Encrypt's Boulder sends it; Pebble
// deliberately does not (pebble#508), and golang.org/x/crypto/acme's
// Client.CreateOrderCert depends on it (golang/go#77704). RFC 8555 leaves it
// optional, so clients that ignore it are unaffected.
func withFinalizeLocation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutPrefix(r.URL.Path, pebbleFinalizePath)
		if !ok || id == "" || strings.Contains(id, "/") || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		location := "https://" + r.Host + pebbleOrderPath + id
		next.ServeHTTP(&locationOnOK{ResponseWriter: w, location: location}, r)
	})
}

// locationOnOK sets Location just before a 200 status goes out.
type locationOnOK struct {
	http.ResponseWriter
	location    string
	wroteHeader bool
}

func (w *locationOnOK) WriteHeader(code int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		if code == http.StatusOK && w.Header().Get("Location") == "" {
			w.Header().Set("Location", w.location)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *locationOnOK) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *locationOnOK) Unwrap() http.ResponseWriter { return w.ResponseWriter }
