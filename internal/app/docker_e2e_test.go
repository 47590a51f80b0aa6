package app_test

import (
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/internal/app"
	"github.com/certdock/certdock/internal/testenv"
)

// dockerCLI runs the docker CLI and returns its trimmed output.
func dockerCLI(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// tryDocker is dockerCLI without failing.
func tryDocker(args ...string) (string, error) {
	out, err := exec.Command("docker", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// runContainer starts a busybox container with labels and removes it in
// cleanup. script runs under sh -c.
func runContainer(t testing.TB, name string, labels map[string]string, script string) {
	t.Helper()
	containerCmd(t, "run", name, labels, script)
}

// createContainer is runContainer without starting the container.
func createContainer(t testing.TB, name string, labels map[string]string, script string) {
	t.Helper()
	containerCmd(t, "create", name, labels, script)
}

func containerCmd(t testing.TB, verb, name string, labels map[string]string, script string) {
	t.Helper()
	args := []string{verb, "--name", name, "--label", "certdock-test=1"}
	if verb == "run" {
		args = append(args, "-d")
	}
	for k, v := range labels {
		args = append(args, "--label", k+"="+v)
	}
	args = append(args, testenv.BusyboxImage(t), "sh", "-c", script)
	tryDocker("rm", "-f", name)
	dockerCLI(t, args...)
	t.Cleanup(func() { tryDocker("rm", "-f", name) })
}

const idleScript = "trap 'exit 0' TERM; while true; do sleep 0.2; done"

// eventually polls cond every 50 ms for up to d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// existsInContainer reports whether path exists inside the container.
func existsInContainer(name, path string) bool {
	_, err := tryDocker("exec", name, "test", "-e", path)
	return err == nil
}

func fileInContainer(name, path string) string {
	out, err := tryDocker("exec", name, "cat", path)
	if err != nil {
		return ""
	}
	return out
}

// startDaemon builds certdock with a Docker client on host and runs the
// daemon until the test ends.
func (w *world) startDaemon(t testing.TB, host string) *app.App {
	t.Helper()
	dc, err := docker.New(docker.Options{Host: host, LabelPrefix: "certdock", Logger: slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	a := w.buildWith(t, app.Options{Docker: dc})
	serve(t, a)
	return a
}

func TestDockerLabelsEndToEnd(t *testing.T) {
	testenv.RequireDocker(t)
	w := newWorld(t, "example.com")
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
	execC, sigC, restartC, badC, lateC, cutC := "cd-exec-"+suffix, "cd-sig-"+suffix, "cd-restart-"+suffix, "cd-bad-"+suffix, "cd-late-"+suffix, "cd-cut-"+suffix

	runContainer(t, execC, map[string]string{"certdock.domains": "exec.example.com", "certdock.exec": "touch /tmp/reloaded"}, idleScript)
	runContainer(t, sigC, map[string]string{"certdock.domains": "sig.example.com,www.sig.example.com", "certdock.signal": "SIGHUP"},
		"trap 'echo got >> /tmp/hup' HUP; trap 'exit 0' TERM; while true; do sleep 0.2; done")
	runContainer(t, restartC, nil, idleScript)
	runContainer(t, badC, map[string]string{"certdock.domains": "bad.example.com", "certdock.signal": "SIGFOO"}, idleScript)
	evilC := "cd-evil-" + suffix
	runContainer(t, evilC, map[string]string{"certdock.domains": "www.example.org", "certdock.restart": "true"}, idleScript)
	evilStarted := dockerCLI(t, "inspect", "-f", "{{.State.StartedAt}}", evilC)
	w.env["CERTDOCK_ALLOWED_DOMAINS"] = "*.example.com"
	startedAt := dockerCLI(t, "inspect", "-f", "{{.State.StartedAt}}", restartC)
	w.writeDomains(t, "restart.example.com autorestart-containers="+restartC+"\n")

	proxy := testenv.StartUnixProxy(t, testenv.DockerSocket())
	a := w.startDaemon(t, "unix://"+proxy.Addr)

	eventually(t, 20*time.Second, "exec action after issuance", func() bool { return existsInContainer(execC, "/tmp/reloaded") })
	if _, err := a.Store.Load("exec.example.com"); err != nil {
		t.Fatalf("exec.example.com not issued: %v", err)
	}
	eventually(t, 20*time.Second, "SIGHUP delivered", func() bool { return strings.Contains(fileInContainer(sigC, "/tmp/hup"), "got") })
	eventually(t, 20*time.Second, "domains.conf restart", func() bool {
		s, _ := tryDocker("inspect", "-f", "{{.State.StartedAt}}", restartC)
		return s != startedAt
	})
	if _, err := a.Store.Load("bad.example.com"); err == nil {
		t.Error("a container with a malformed label got a certificate")
	}
	if logs := w.logs.String(); !strings.Contains(logs, "container "+badC+": label certdock.signal") {
		t.Errorf("malformed label not reported naming container and label")
	}
	if logs := w.logs.String(); !strings.Contains(logs, "container "+evilC+": label certdock.domains: www.example.org is not allowed by CERTDOCK_ALLOWED_DOMAINS") {
		t.Errorf("refusal by CERTDOCK_ALLOWED_DOMAINS not reported naming container and label")
	}
	if _, err := a.Store.Load("www.example.org"); err == nil {
		t.Error("a name outside CERTDOCK_ALLOWED_DOMAINS was issued")
	}
	if s, _ := tryDocker("inspect", "-f", "{{.State.StartedAt}}", evilC); s != evilStarted {
		t.Error("a refused workload was acted on")
	}
	if got := strings.Count(fileInContainer(sigC, "/tmp/hup"), "got"); got != 1 {
		t.Errorf("signal delivered %d times, want once", got)
	}

	t.Run("container started while running", func(t *testing.T) {
		runContainer(t, lateC, map[string]string{"certdock.domains": "late.example.com", "certdock.exec": "touch /tmp/late"}, idleScript)
		eventually(t, 20*time.Second, "late container's certificate and exec", func() bool { return existsInContainer(lateC, "/tmp/late") })
		if _, err := a.Store.Load("late.example.com"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("resync after the connection is cut", func(t *testing.T) {
		proxy.Cut()
		time.Sleep(300 * time.Millisecond)
		runContainer(t, cutC, map[string]string{"certdock.domains": "cut.example.com", "certdock.exec": "touch /tmp/cut"}, idleScript)
		time.Sleep(300 * time.Millisecond)
		if _, err := a.Store.Load("cut.example.com"); err == nil {
			t.Fatal("certificate issued while the Docker connection was cut")
		}
		proxy.Restore()
		eventually(t, 30*time.Second, "resync to pick up the container labelled during the outage", func() bool { return existsInContainer(cutC, "/tmp/cut") })
	})
}

func TestDomainsConfServedWithoutDocker(t *testing.T) {
	testenv.RequireDocker(t)
	w := newWorld(t, "example.com")
	w.writeDomains(t, "nodocker.example.com\n")
	health := fmt.Sprintf("http://127.0.0.1:%d/healthz", testenv.FreePort(t))
	w.env["CERTDOCK_LISTEN"] = strings.TrimSuffix(strings.TrimPrefix(health, "http://"), "/healthz")
	proxy := testenv.StartUnixProxy(t, testenv.DockerSocket())
	proxy.Cut() // the engine is unreachable when certdock starts
	a := w.startDaemon(t, "unix://"+proxy.Addr)
	eventually(t, 20*time.Second, "domains.conf certificate without Docker", func() bool {
		_, err := a.Store.Load("nodocker.example.com")
		return err == nil
	})
	if code, body := get(t, health); code != 503 || !strings.Contains(body, "docker: error") {
		t.Errorf("/healthz while Docker is unreachable: %d %q", code, body)
	}
	name := fmt.Sprintf("cd-later-%d", time.Now().UnixNano()%1e6)
	runContainer(t, name, map[string]string{"certdock.domains": "later.example.com", "certdock.exec": "touch /tmp/later"}, idleScript)
	proxy.Restore()
	eventually(t, 30*time.Second, "labels served once the engine is reachable", func() bool { return existsInContainer(name, "/tmp/later") })
	// The listing (and so the labels) can come back before the event
	// watch, which reconnects on its own backoff (at most 30 s); /healthz
	// reports the watch, so it turns healthy when that reconnects.
	eventually(t, 35*time.Second, "/healthz healthy once the event watch reconnected", func() bool {
		code, _ := get(t, health)
		return code == 200
	})
}

// createService creates an idle Swarm service of image on the host's
// engine with the extra arguments (labels), removed with its tasks when
// the test ends.
func createService(t *testing.T, name, image string, extra ...string) {
	t.Helper()
	args := append([]string{"service", "create", "--detach", "--name", name, "--label", "certdock-test=1", "--container-label", "certdock-test=1"}, extra...)
	dockerCLI(t, append(args, image, "sh", "-c", idleScript)...)
	t.Cleanup(func() {
		tryDocker("service", "rm", name)
		for range 100 {
			if out, _ := tryDocker("ps", "-aq", "--filter", "label=com.docker.swarm.service.name="+name); out == "" {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func TestSwarmServicesEndToEnd(t *testing.T) {
	testenv.RequireSwarm(t)
	image := testenv.BusyboxImage(t)
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
	labelled, named := "cd-svc-"+suffix, "cd-named-"+suffix
	for _, s := range []struct {
		name   string
		labels []string
	}{
		{labelled, []string{"--label", "certdock.domains=svc.example.com", "--label", "certdock.restart=true"}},
		{named, nil},
	} {
		createService(t, s.name, image, s.labels...)
	}
	w := newWorld(t, "example.com")
	w.env["DOCKER_CLUSTER_PROVIDER"] = "swarm"
	w.writeDomains(t, "named.example.com autorestart-containers="+named+"\n")
	a := w.startDaemon(t, "")
	forceUpdate := func(svc string) string {
		s, _ := tryDocker("service", "inspect", "-f", "{{.Spec.TaskTemplate.ForceUpdate}}", svc)
		return s
	}
	eventually(t, 60*time.Second, "labelled service issued and force-updated", func() bool {
		_, err := a.Store.Load("svc.example.com")
		return err == nil && forceUpdate(labelled) == "1"
	})
	eventually(t, 60*time.Second, "service named in autorestart-containers force-updated", func() bool {
		return forceUpdate(named) == "1"
	})
}
