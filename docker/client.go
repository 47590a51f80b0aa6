package docker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// ErrNotFound is wrapped by the errors of actions whose target container
// or service does not exist. Callers usually log it as a warning: a label or
// domains.conf line names a workload that is gone.
var ErrNotFound = errors.New("not found")

// ErrNotRunning is wrapped by the errors of actions on a container that
// exists but is not running (created, exited). Such a container reads the
// new certificate when it starts, so Act counts these as skipped, not
// failed.
var ErrNotRunning = errors.New("not running")

// Options configure a Client.
type Options struct {
	// Host is the daemon address in DOCKER_HOST syntax: "unix:///path" or
	// "tcp://host:port" (for example a Docker socket proxy). Empty means
	// DOCKER_HOST, or the default unix:///var/run/docker.sock. The socket
	// need not exist when New is called. TLS settings (DOCKER_TLS_VERIFY,
	// DOCKER_CERT_PATH) and DOCKER_API_VERSION are read from the
	// environment either way.
	Host string
	// Logger receives the client's logs; nil discards them.
	Logger *slog.Logger
	// LabelPrefix selects workloads: Snapshot returns, and Watch reports
	// container events for, only workloads with at least one label whose
	// key starts with LabelPrefix + ".". Empty selects every workload.
	LabelPrefix string
	// ExtraLabelPrefixes select more workloads the same way (e.g.
	// "traefik" with CERTDOCK_TRAEFIK_LABELS).
	ExtraLabelPrefixes []string
}

// Timing of the connection; the tests shorten some of them.
const (
	// pingTimeout bounds each ping of the daemon.
	pingTimeout = 10 * time.Second
	// minBackoff and maxBackoff bound the wait between Watch reconnects.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 30 * time.Second
	// healthyAfter is how long a connection must last for the backoff to
	// start again from minBackoff.
	healthyAfter = 10 * time.Second
	// watchPing is how often Watch pings the daemon while the event stream
	// is idle, to notice a connection that died without closing.
	watchPing = 30 * time.Second
)

// Client talks to one Docker daemon. It is safe for concurrent use; create
// it with New and release it with Close.
type Client struct {
	api    engine
	log    *slog.Logger
	prefix string
	extra  []string // more prefixes selecting workloads

	healthy atomic.Bool

	// Watch's timing (the constants above; tests shorten them).
	minBackoff, maxBackoff, healthyAfter, watchPing time.Duration
}

// New returns a Client for opts.Host. It does not contact the daemon (so it
// succeeds while the daemon is down) and fails only when the host, or the
// TLS settings in the environment, are invalid. The API version is
// negotiated with the daemon on first use.
func New(opts Options) (*Client, error) {
	ops := []client.Opt{client.FromEnv}
	if opts.Host != "" {
		if err := checkHost(opts.Host); err != nil {
			return nil, err
		}
		ops = append(ops, client.WithHost(opts.Host))
	}
	sdk, err := client.New(ops...)
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	// DOCKER_HOST from the environment is checked here.
	if err := checkHost(sdk.DaemonHost()); err != nil {
		_ = sdk.Close()
		return nil, err
	}
	return newClient(sdk, opts), nil
}

// newClient returns a Client that talks to the daemon through api (New's
// SDK client, or a test's fake); opts.Host is not used.
func newClient(api engine, opts Options) *Client {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{
		api:          api,
		log:          log,
		prefix:       opts.LabelPrefix,
		extra:        opts.ExtraLabelPrefixes,
		minBackoff:   minBackoff,
		maxBackoff:   maxBackoff,
		healthyAfter: healthyAfter,
		watchPing:    watchPing,
	}
}

// checkHost accepts the daemon addresses the SDK can dial without the
// docker CLI: unix sockets and plain or TLS TCP (ssh:// needs the CLI's
// connection helpers).
func checkHost(host string) error {
	u, err := client.ParseHostURL(host)
	if err != nil {
		return fmt.Errorf("docker: invalid host %q: want unix:///path/to/docker.sock or tcp://host:port", host)
	}
	switch u.Scheme {
	case "unix":
		if !strings.HasPrefix(u.Host, "/") && !strings.HasPrefix(u.Host, "@") {
			return fmt.Errorf("docker: invalid host %q: a unix socket needs an absolute path (unix:///var/run/docker.sock)", host)
		}
	case "tcp":
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
			return fmt.Errorf("docker: invalid host %q: tcp:// needs host:port (the Docker API is usually on 2375, 2376 with TLS)", host)
		}
	case "npipe":
	default:
		return fmt.Errorf("docker: unsupported host %q: want unix:// or tcp:// (for ssh://, run a socket proxy)", host)
	}
	return nil
}

// Close releases the client's idle connections. Watch must have returned.
func (c *Client) Close() error {
	return c.api.Close()
}

// Healthy reports whether Watch currently holds a live event stream: true
// from a successful (re)connect until the stream fails.
func (c *Client) Healthy() bool {
	return c.healthy.Load()
}

// selected reports whether labels has a key under the label prefix (or
// one of the extra prefixes).
func (c *Client) selected(labels map[string]string) bool {
	if c.prefix == "" {
		return true
	}
	for _, prefix := range append([]string{c.prefix}, c.extra...) {
		p := prefix + "."
		for k := range labels {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
	}
	return false
}

// opError describes a failed operation on a named object ("docker: restart:
// container web: ..."), wrapping ErrNotFound or ErrNotRunning when the
// daemon says so.
func opError(op, object, name string, err error) error {
	switch {
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("docker: %s: %s %s %w", op, object, name, ErrNotFound)
	case cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "is not running"):
		return fmt.Errorf("docker: %s: %s %s %w", op, object, name, ErrNotRunning)
	}
	return fmt.Errorf("docker: %s: %s %s: %w", op, object, name, err)
}

// checkName refuses an empty target name: the SDK would turn it into a
// confusing request.
func checkName(op, object, name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("docker: %s: empty %s name", op, object)
	}
	return nil
}
