package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/certdock/certdock/internal/testenv"
)

// testLabel marks everything the tests create; `docker ps -a --filter
// label=certdock-test=1` finds leftovers.
const testLabel = "certdock-test"

// cleanupTimeout bounds each cleanup call to the daemon.
const cleanupTimeout = 30 * time.Second

// testLogger sends a client's logs to the test output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// dockerEnv is a test's view of the real daemon: an SDK client to set up
// fixtures, the busybox image, and a label prefix of its own so parallel
// tests (and whatever else runs on the host) do not see each other's
// workloads.
type dockerEnv struct {
	api    *client.Client
	image  string
	prefix string
}

func newDockerEnv(t *testing.T) *dockerEnv {
	t.Helper()
	image := testenv.BusyboxImage(t) // requires Docker
	api, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatalf("SDK client: %v", err)
	}
	t.Cleanup(func() { api.Close() })
	return &dockerEnv{api: api, image: image, prefix: "cdtest" + randomHex(4)}
}

// client returns a certdock Client for host ("" = environment) with the
// test's label prefix.
func (e *dockerEnv) client(t *testing.T, host string) *Client {
	t.Helper()
	c, err := New(Options{Host: host, Logger: testLogger(t), LabelPrefix: e.prefix})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// selectedLabels returns labels that make a workload selected by the
// test's prefix, plus the test label.
func (e *dockerEnv) selectedLabels() map[string]string {
	return map[string]string{testLabel: "1", e.prefix + ".domains": "example.com,www.example.com", e.prefix + ".restart": "true"}
}

// container describes a test container.
type testContainer struct {
	ID, Name string
}

// create creates (and unless noStart, starts) a container from the test
// image running cmd, labelled with the test label plus labels, with an init
// process so that it stops at once. It is removed in t's cleanup.
func (e *dockerEnv) create(t *testing.T, labels map[string]string, noStart bool, cmd ...string) testContainer {
	t.Helper()
	ctx := t.Context()
	all := map[string]string{testLabel: "1"}
	maps.Copy(all, labels)
	name := "certdock-test-" + randomHex(6)
	init := true
	res, err := e.api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:       name,
		Config:     &container.Config{Image: e.image, Cmd: cmd, Labels: all},
		HostConfig: &container.HostConfig{Init: &init},
	})
	if err != nil {
		t.Fatalf("create container: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if _, err := e.api.ContainerRemove(ctx, res.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !strings.Contains(err.Error(), "No such container") {
			t.Errorf("cleanup: remove container %s: %v", name, err)
		}
	})
	if !noStart {
		if _, err := e.api.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
			t.Fatalf("start container: %v", err)
		}
	}
	return testContainer{ID: res.ID, Name: name}
}

// run starts a container running cmd; see create.
func (e *dockerEnv) run(t *testing.T, labels map[string]string, cmd ...string) testContainer {
	t.Helper()
	return e.create(t, labels, false, cmd...)
}

// sleeper runs a container that sleeps.
func (e *dockerEnv) sleeper(t *testing.T, labels map[string]string) testContainer {
	t.Helper()
	return e.run(t, labels, "sleep", "3600")
}

// recorder is a Handler that records what Watch reports.
type recorder struct {
	connected chan struct{}
	events    chan Event
}

func newRecorder() *recorder {
	return &recorder{connected: make(chan struct{}, 100), events: make(chan Event, 10000)}
}

func (r *recorder) Connected() { r.connected <- struct{}{} }

func (r *recorder) Event(ev Event) {
	select {
	case r.events <- ev:
	default:
	}
}

// waitConnected waits for the next Connected call.
func (r *recorder) waitConnected(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-r.connected:
	case <-time.After(timeout):
		t.Fatalf("Connected not called within %v", timeout)
	}
}

// waitEvent returns the first event matching match, failing t after
// timeout; seen collects the events skipped meanwhile.
func (r *recorder) waitEvent(t *testing.T, timeout time.Duration, match func(Event) bool) (ev Event, skipped []Event) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-r.events:
			if match(ev) {
				return ev, skipped
			}
			skipped = append(skipped, ev)
		case <-deadline:
			t.Fatalf("no matching event within %v; saw %v", timeout, skipped)
		}
	}
}

// watch runs c.Watch(h) until t's cleanup, which waits for it to return.
func watch(t *testing.T, c *Client, h Handler) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Watch(ctx, h)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Watch did not return 10 s after its context ended")
		}
	})
}

// eventually polls cond every 50 ms until it holds or timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
