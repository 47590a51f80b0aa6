package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// healthTimeout bounds one health probe; Docker's HEALTHCHECK has its own
// timeout on top.
const healthTimeout = 5 * time.Second

// cmdHealth asks the /healthz endpoint of a running certdock (the one at
// CERTDOCK_LISTEN) whether it is healthy: exit 0 when it answers 200, 1
// otherwise. It is the image's HEALTHCHECK, so it needs nothing but the
// binary, and it reads only CERTDOCK_LISTEN: a provider misconfiguration
// is reported by the daemon, not by every probe.
func cmdHealth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("health takes no arguments")}
	}
	listen := os.Getenv("CERTDOCK_LISTEN")
	if listen == "" {
		return usageError{fmt.Errorf("CERTDOCK_LISTEN is not set: there is no /healthz endpoint to ask")}
	}
	url, err := healthURL(listen)
	if err != nil {
		return usageError{fmt.Errorf("CERTDOCK_LISTEN: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "certdock: health: %v\n", err)
		return errFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(stdout, "%s", body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "certdock: health: %s answered %s\n", url, resp.Status)
		return errFailed
	}
	return nil
}

// healthURL turns a listen address into the URL a local probe uses: an
// unspecified host (":9090", "0.0.0.0:9090", "[::]:9090") is asked on
// loopback.
func healthURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("%q: want host:port or :port", listen)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "http://" + host + ":" + port + "/healthz", nil
}
