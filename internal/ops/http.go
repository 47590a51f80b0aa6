package ops

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// shutdownTimeout bounds the graceful shutdown of the server: requests
// still running after it are cut.
const shutdownTimeout = 2 * time.Second

// Handler serves GET (and HEAD) /healthz from h and /metrics from m:
//
//   - /healthz answers 200 with "ok" and the lines of Health.Status when
//     healthy, else 503 with "unhealthy" and the same lines, so the failing
//     checks are named;
//   - /metrics answers the exposition of Metrics.WriteTo as ContentType.
//
// Other methods on these paths get 405, other paths 404. A nil m or h
// leaves its path out (404).
func Handler(m *Metrics, h *Health) http.Handler {
	mux := http.NewServeMux()
	if h != nil {
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
			ok, body := h.Status()
			status, first := http.StatusOK, "ok"
			if !ok {
				status, first = http.StatusServiceUnavailable, "unhealthy"
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(status)
			io.WriteString(w, first+"\n"+body+"\n")
		})
	}
	if m != nil {
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ContentType)
			w.Header().Set("Cache-Control", "no-store")
			m.WriteTo(w) // a write error means the client went away
		})
	}
	return mux
}

// Serve listens on addr (host:port, e.g. ":9090" from CERTDOCK_LISTEN) and
// serves handler until ctx ends, then shuts down gracefully, cutting
// requests still running after 2 s. An address that cannot be bound is
// an error returned at once; after a shutdown Serve returns nil.
func Serve(ctx context.Context, addr string, handler http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("ops: listen on %s: %w", addr, err)
	}
	return ServeListener(ctx, ln, handler, log)
}

// ServeListener is Serve on a listener the caller opened (so that a bind
// error can be reported before anything else starts); ln is closed when
// it returns.
func ServeListener(ctx context.Context, ln net.Listener, handler http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := ln.Addr().String()
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(log.With("addr", addr).Handler(), slog.LevelWarn),
	}
	log.Debug("serving HTTP", "addr", addr)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("ops: serve on %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("health and metrics server: requests still running after the shutdown delay were cut", "addr", addr, "err", err)
		srv.Close()
	}
	<-errc // http.ErrServerClosed
	log.Debug("health and metrics server stopped", "addr", addr)
	return nil
}
