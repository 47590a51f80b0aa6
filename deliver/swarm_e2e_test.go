package deliver_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/providers/dns/dnsupdate"

	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/internal/app"
	"github.com/certdock/certdock/internal/testenv"
)

// swarmHeartbeat makes a cut-off node go down within seconds.
const swarmHeartbeat = 2 * time.Second

// e2e is certdock on the host, against a real Pebble and bind9, watching
// the manager of a real multi-node swarm.
type e2e struct {
	swarm *testenv.Swarm
	image string
	dir   string
	logs  *testenv.LogBuffer
	app   *app.App
}

// startE2E builds a swarm of 1 manager and 2 workers, Pebble and bind9,
// and certdock's daemon on the host against the manager's socket.
func startE2E(t testing.TB) *e2e {
	t.Helper()
	e := newE2E(t, nil)
	e.start(t)
	return e
}

// newE2E is startE2E without starting the daemon, with extra
// environment variables for certdock.
func newE2E(t testing.TB, extra map[string]string) *e2e {
	t.Helper()
	image := testenv.BusyboxImage(t)
	start := time.Now()
	s := testenv.StartSwarm(t, testenv.SwarmOptions{Managers: 1, Workers: 2, Images: []string{image}, Heartbeat: swarmHeartbeat})
	t.Logf("swarm of 3 nodes up in %v", time.Since(start).Round(time.Millisecond))
	bind := testenv.StartBind(t, "example.com")
	pebble := testenv.StartPebble(t, bind.Addr, nil)
	for k, v := range bind.Env() {
		t.Setenv(k, v)
	}
	e := &e2e{swarm: s, image: image, dir: t.TempDir(), logs: &testenv.LogBuffer{}}
	env := map[string]string{
		"CERTDOCK_DIR":            e.dir,
		"ACME_DIRECTORY_URL":      pebble.DirectoryURL,
		"ACME_CA_CERTIFICATES":    pebble.TLSCAFile,
		"DNS_PROVIDER":            "rfc2136",
		"DNS_RESOLVERS":           bind.Addr,
		"DOCKER_CLUSTER_PROVIDER": "swarm",
	}
	maps.Copy(env, extra)
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dc, err := docker.New(docker.Options{Host: s.Manager(t).DockerHost(), LabelPrefix: "certdock", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	e.app, err = app.Build(cfg, log, app.Options{Docker: dc, Provider: func(string) (challenge.Provider, error) {
		p, err := dnsupdate.NewDNSProvider()
		if err != nil {
			return nil, err
		}
		return p, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("certdock logs:\n%s", e.logs.String())
		}
	})
	return e
}

// start runs certdock's daemon until the test ends.
func (e *e2e) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.app.Serve(ctx, false) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
}

// manager runs the docker CLI against the manager.
func (e *e2e) manager(t testing.TB, args ...string) string {
	t.Helper()
	return e.swarm.Manager(t).Docker(t, args...)
}

// version is the lineage's current version (0 when none).
func (e *e2e) version(name string) int {
	l, err := e.app.Store.Load(name)
	if err != nil {
		return 0
	}
	return l.Version
}

// liveFiles returns the four live files of a lineage.
func (e *e2e) liveFiles(t testing.TB, name string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range []string{"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"} {
		b, err := os.ReadFile(filepath.Join(e.dir, "live", name, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

// taskFiles reads files in the running task of service on node n: content
// and "uid:gid mode" of each; ok is false while no single running task
// has them all.
func taskFiles(n *testenv.SwarmNode, service, dir string, files []string) (content, meta map[string]string, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := n.Command(ctx, "ps", "--quiet", "--filter", "status=running", "--filter", "label=com.docker.swarm.service.name="+service).Output()
	id := strings.TrimSpace(string(out))
	if err != nil || id == "" || strings.Contains(id, "\n") {
		return nil, nil, false
	}
	content, meta = map[string]string{}, map[string]string{}
	for _, f := range files {
		p := dir + "/" + f
		b, err := n.Command(ctx, "exec", id, "cat", p).Output()
		if err != nil {
			return nil, nil, false
		}
		st, err := n.Command(ctx, "exec", id, "stat", "-L", "-c", "%u:%g %a", p).Output()
		if err != nil {
			return nil, nil, false
		}
		content[f], meta[f] = string(b), strings.TrimSpace(string(st))
	}
	return content, meta, true
}

// waitTaskFiles waits until service's task on n holds want in dir.
func waitTaskFiles(t testing.TB, n *testenv.SwarmNode, service, dir string, want map[string]string, timeout time.Duration) map[string]string {
	t.Helper()
	files := slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	})
	deadline := time.Now().Add(timeout)
	var last map[string]string
	for {
		content, meta, ok := taskFiles(n, service, dir, files)
		if ok {
			last = content
			same := true
			for f, w := range want {
				same = same && content[f] == w
			}
			if same {
				return meta
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %s on %s: %s never held the wanted files (last read: %d files, equal: %v)", service, n.Name, dir, len(last), equalFiles(last, want))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func equalFiles(got, want map[string]string) map[string]bool {
	out := map[string]bool{}
	for f := range want {
		out[f] = got[f] == want[f]
	}
	return out
}

// certdockSecrets lists the names of the secrets certdock created.
func (e *e2e) certdockSecrets(t testing.TB) []string {
	t.Helper()
	out := e.manager(t, "secret", "ls", "--filter", "label=certdock.managed-by", "--format", "{{.Name}}")
	if out == "" {
		return nil
	}
	names := strings.Split(out, "\n")
	slices.Sort(names)
	return names
}

// eventually polls cond until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// keyMatches checks that a delivered key and certificate form a pair.
func keyMatches(t testing.TB, files map[string]string) {
	t.Helper()
	if _, err := tls.X509KeyPair([]byte(files["fullchain.pem"]), []byte(files["privkey.pem"])); err != nil {
		t.Fatalf("delivered key does not match the certificate: %v", err)
	}
}

// TestSwarmSecretsEndToEnd: on a real swarm of one manager and two
// workers, certificates reach services pinned to workers as rotated
// secrets; a stack re-deploy that drops them is repaired without a new
// version; two services share a certificate; old secrets go.
func TestSwarmSecretsEndToEnd(t *testing.T) {
	e := startE2E(t)
	w1, w2 := e.swarm.Workers()[0], e.swarm.Workers()[1]
	const name = "web.example.com"

	// A user's own secret next to certdock's, kept through every update.
	userSecret := filepath.Join(t.TempDir(), "user.txt")
	if err := os.WriteFile(userSecret, []byte("user data"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.manager(t, "secret", "create", "user-secret", userSecret)

	// web comes from a stack file (pinned to worker 1); api is created by
	// hand (pinned to worker 2), shares the certificate, with its files
	// in another directory, owner and mode.
	stack := filepath.Join(t.TempDir(), "stack.yml")
	stackYAML := fmt.Sprintf(`version: "3.8"
services:
  web:
    image: %s
    command: ["sleep", "3600"]
    secrets:
      - source: user-secret
        target: user.txt
    deploy:
      labels:
        certdock.domains: %s
        certdock.secrets: "true"
      placement:
        constraints: ["node.id == %s"]
secrets:
  user-secret:
    external: true
`, e.image, name, w1.ID)
	if err := os.WriteFile(stack, []byte(stackYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	deploy := func() { e.manager(t, "stack", "deploy", "--detach=true", "-c", stack, "st") }
	deploy()
	e.manager(t, "service", "create", "--detach", "--name", "api", "--constraint", "node.id=="+w2.ID,
		"--label", "certdock.domains="+name, "--label", "certdock.secrets=true",
		"--label", "certdock.secrets.dir=/etc/tls", "--label", "certdock.secrets.uid=100",
		"--label", "certdock.secrets.gid=101", "--label", "certdock.secrets.mode=0440",
		e.image, "sleep", "3600")

	eventually(t, 90*time.Second, "version 1 issued", func() bool { return e.version(name) == 1 })
	live := e.liveFiles(t, name)
	meta := waitTaskFiles(t, w1, "st_web", "/run/secrets/"+name, live, 90*time.Second)
	for f, m := range meta {
		want := "0:0 444"
		if f == "privkey.pem" {
			want = "0:0 400"
		}
		if m != want {
			t.Errorf("st_web %s: %s, want %s", f, m, want)
		}
	}
	keyMatches(t, live)
	meta = waitTaskFiles(t, w2, "api", "/etc/tls", live, 90*time.Second)
	for f, m := range meta {
		if m != "100:101 440" {
			t.Errorf("api %s: %s, want 100:101 440", f, m)
		}
	}
	if got := waitTaskFiles(t, w1, "st_web", "/run/secrets", map[string]string{"user.txt": "user data"}, 10*time.Second); got == nil {
		t.Fatal("the user's secret is gone from st_web")
	}
	v1Secrets := e.certdockSecrets(t)
	if len(v1Secrets) != 4 {
		t.Fatalf("certdock secrets after version 1: %v, want 4 (shared by both services)", v1Secrets)
	}

	// Status: each service holds version 1.
	eventually(t, 30*time.Second, "status shows both deliveries at version 1", func() bool {
		rec, _ := e.app.Controller.Status(context.Background())
		for _, cs := range rec {
			if cs.Name == name {
				d := cs.Record.Deliveries
				return len(d) == 2 && d[0].Service == "api" && d[0].Version == 1 && d[1].Service == "st_web" && d[1].Version == 1 && d[0].Error == "" && d[1].Error == ""
			}
		}
		return false
	})

	// A stack re-deploy of the file, which knows nothing of certdock's
	// secrets, drops them: repaired from the events, with no new version
	// and no new secret.
	deploy()
	start := time.Now()
	eventually(t, 30*time.Second, "st_web's spec loses certdock's secrets (stack re-deploy)", func() bool {
		return !strings.Contains(e.manager(t, "service", "inspect", "-f", "{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}", "st_web"), "certdock.")
	})
	eventually(t, 30*time.Second, "st_web's secrets repaired", func() bool {
		return strings.Contains(e.manager(t, "service", "inspect", "-f", "{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}", "st_web"), "certdock."+name+".v1.")
	})
	t.Logf("stack re-deploy repaired after %v", time.Since(start).Round(time.Millisecond))
	waitTaskFiles(t, w1, "st_web", "/run/secrets/"+name, live, 90*time.Second)
	if v := e.version(name); v != 1 {
		t.Fatalf("the repair issued a certificate: version %d", v)
	}
	if got := e.certdockSecrets(t); !slices.Equal(got, v1Secrets) {
		t.Fatalf("secrets after the repair: %v, want %v", got, v1Secrets)
	}

	// renew --force: version 2 reaches both services; version 1's
	// secrets stay while a previous spec (a rollback) needs them, and go
	// after the next rotation.
	for v := 2; v <= 3; v++ {
		start := time.Now()
		if res := e.app.Controller.Renew(context.Background(), []string{name}, true); res.Err() != nil {
			t.Fatalf("renew --force: %v", res.Err())
		}
		if got := e.version(name); got != v {
			t.Fatalf("after renew --force: version %d, want %d", got, v)
		}
		live = e.liveFiles(t, name)
		waitTaskFiles(t, w1, "st_web", "/run/secrets/"+name, live, 120*time.Second)
		waitTaskFiles(t, w2, "api", "/etc/tls", live, 120*time.Second)
		keyMatches(t, live)
		t.Logf("version %d in both services' tasks %v after renew --force", v, time.Since(start).Round(time.Millisecond))
	}
	eventually(t, 60*time.Second, "version 1's secrets removed", func() bool {
		got := e.certdockSecrets(t)
		return !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, ".v1.") }) &&
			slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, ".v3.") })
	})
	if !strings.Contains(e.manager(t, "secret", "ls", "--format", "{{.Name}}"), "user-secret") {
		t.Fatal("the user's secret was removed")
	}
}
