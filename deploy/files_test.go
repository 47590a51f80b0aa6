package deploy_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
)

// issueTimeout bounds the wait from `up`/`deploy` to the certificate and
// the action on the example service.
const issueTimeout = 90 * time.Second

// compose deploys compose.yml with an override that points certdock at
// the test's CA and DNS (host network) and replaces nginx by busybox,
// whose shell records the SIGHUP the web service's label asks for.
func (h *harness) compose(t *testing.T) {
	argv := testenv.ComposeCommand(t)
	dir := t.TempDir()
	base := copyFile(t, "compose.yml", dir)
	env := h.containerEnv(testenv.FreePort(t))
	env["DNSUPDATE_TSIG_SECRET"] = h.bind.KeySecret
	override := writeFile(t, filepath.Join(dir, "override.yml"), fmt.Sprintf(`services:
  certdock:
    image: %q
    network_mode: host
    environment:
%s    volumes:
      - %s:/pebble-ca.pem:ro
    healthcheck:
      interval: 1s
    labels:
      certdock-test: "1"
  web:
    image: %q
    command: ["sh", "-c", "trap 'date >> /tmp/hup' HUP; while :; do sleep 1 & wait; done"]
    labels:
      certdock-test: "1"
`, h.image, yamlMap("      ", env), h.pebble.TLSCAFile, h.busybox))
	project := "certdocktest" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	compose := func(args ...string) (string, error) {
		full := append(append([]string{}, argv[1:]...), append([]string{"--project-name", project, "--file", base, "--file", override}, args...)...)
		out, err := exec.Command(argv[0], full...).CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		if out, err := compose("down", "--volumes", "--remove-orphans", "--timeout", "5"); err != nil {
			t.Errorf("cleanup: compose down: %v\n%s", err, out)
		}
	})
	start := time.Now()
	if out, err := compose("up", "--detach"); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	find := func(service string) string {
		id := docker(t, "ps", "--quiet", "--filter", "label=com.docker.compose.project="+project,
			"--filter", "label=com.docker.compose.service="+service)
		if id == "" || strings.Contains(id, "\n") {
			t.Fatalf("compose service %s: containers %q", service, id)
		}
		return id
	}
	certdock, web := find("certdock"), find("web")
	defer func() {
		if t.Failed() {
			t.Logf("certdock's logs:\n%s", containerLogs(certdock))
		}
	}()
	eventually(t, issueTimeout, "the certificate in the web container and its SIGHUP", func() bool {
		_, err := dockerErr("exec", web, "cat", "/tmp/hup")
		return err == nil
	})
	t.Logf("compose up → certificate issued and web signalled in %v", time.Since(start).Round(10*time.Millisecond))
	h.verifyChain(t, docker(t, "exec", web, "cat", "/etc/letsencrypt/live/"+webName+"/fullchain.pem"), webName)
	eventually(t, 30*time.Second, "certdock's HEALTHCHECK to pass", func() bool { return healthStatus(certdock) == "healthy" })
	h.checkStatus(t, certdock)
}

// createStateKey creates the certdock_state_key secret stack.yml names
// (external), and removes it and every state config in t's cleanup.
func createStateKey(t *testing.T) {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker", "secret", "create", "certdock_state_key", "-")
	cmd.Stdin = strings.NewReader(base64.StdEncoding.EncodeToString(key))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker secret create certdock_state_key: %v: %s", err, out)
	}
	t.Cleanup(func() {
		// The stack's tasks may still hold it for a moment.
		for range 30 {
			if _, err := dockerErr("secret", "rm", "certdock_state_key"); err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		out, _ := dockerErr("config", "ls", "--quiet", "--filter", "label=certdock.state")
		for _, id := range strings.Fields(out) {
			if _, err := dockerErr("config", "rm", id); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
}

// stack deploys stack.yml on a single-node Swarm with an override for the
// test's CA and DNS; the TSIG secret travels as the Swarm secret the
// stack defines, read through DNSUPDATE_TSIG_SECRET_FILE.
func (h *harness) stack(t *testing.T) {
	testenv.RequireSwarm(t)
	dir := t.TempDir()
	base := copyFile(t, "stack.yml", dir)
	writeFile(t, filepath.Join(dir, "dns_api_token.txt"), h.bind.KeySecret)
	// The state key, created once as README says (an external secret),
	// and the state configs certdock writes, removed afterwards.
	createStateKey(t)
	env := h.containerEnv(testenv.FreePort(t))
	env["DNSUPDATE_TSIG_SECRET_FILE"] = "/run/secrets/dns_api_token"
	override := writeFile(t, filepath.Join(dir, "override.yml"), fmt.Sprintf(`version: "3.8"
services:
  certdock:
    image: %q
    environment:
%s    volumes:
      - %s:/pebble-ca.pem:ro
    networks:
      - hostnet
    healthcheck:
      interval: 1s
  web:
    image: %q
    command: ["sh", "-c", "while :; do sleep 1; done"]
networks:
  hostnet:
    external: true
    name: host
`, h.image, yamlMap("      ", env), h.pebble.TLSCAFile, h.busybox))
	stack := "certdocktest" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	t.Cleanup(func() { removeStack(t, stack) })
	start := time.Now()
	docker(t, "stack", "deploy", "--resolve-image", "never", "--compose-file", base, "--compose-file", override, stack)

	var certdock string
	eventually(t, 60*time.Second, "certdock's task container", func() bool {
		certdock, _ = dockerErr("ps", "--quiet", "--filter", "label=com.docker.swarm.service.name="+stack+"_certdock")
		return certdock != "" && !strings.Contains(certdock, "\n")
	})
	defer func() {
		if t.Failed() {
			t.Logf("certdock's logs:\n%s", containerLogs(certdock))
		}
	}()
	// web gets the certificate as Swarm secrets in each of its tasks.
	secretFile := "/run/secrets/" + webName + "/fullchain.pem"
	var tasks []string
	eventually(t, issueTimeout, "both web tasks to hold the certificate as secrets", func() bool {
		out, _ := dockerErr("ps", "--quiet", "--filter", "status=running", "--filter", "label=com.docker.swarm.service.name="+stack+"_web")
		tasks = strings.Fields(out)
		if len(tasks) != 2 {
			return false
		}
		for _, c := range tasks {
			if _, err := dockerErr("exec", c, "test", "-s", secretFile); err != nil {
				return false
			}
		}
		return true
	})
	t.Logf("stack deploy → certificate issued and delivered to web's tasks in %v", time.Since(start).Round(10*time.Millisecond))
	live := docker(t, "exec", certdock, "cat", "/etc/letsencrypt/live/"+webName+"/fullchain.pem")
	h.verifyChain(t, live, webName)
	for _, c := range tasks {
		if got := docker(t, "exec", c, "cat", secretFile); got != live {
			t.Errorf("task %s: %s differs from the lineage's fullchain.pem", c, secretFile)
		}
	}
	eventually(t, 30*time.Second, "certdock's HEALTHCHECK to pass", func() bool { return healthStatus(certdock) == "healthy" })
	h.checkStatus(t, certdock)
	// Its state is in the swarm: the lease and the version record.
	eventually(t, 30*time.Second, "the certificate's record in the swarm's configs", func() bool {
		out, _ := dockerErr("config", "ls", "--filter", "label=certdock.state", "--format", "{{.Name}}")
		return strings.Contains(out, "certdock-lease") && strings.Contains(out, "certdock-v-"+webName+"-1")
	})
}

// checkStatus runs `certdock status --json` in the container and checks
// the example certificate is listed with the workload that asked for it.
func (h *harness) checkStatus(t *testing.T, container string) {
	t.Helper()
	out := docker(t, "exec", container, "/certdock", "status", "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	for _, r := range rows {
		if r["name"] == webName {
			if src, _ := r["source"].(string); !strings.HasPrefix(src, "workload ") || !strings.Contains(src, "web") {
				t.Errorf("status source of %s: %q, want the web workload", webName, src)
			}
			return
		}
	}
	t.Errorf("status --json does not list %s:\n%s", webName, out)
}

// removeStack removes a stack and what `docker stack rm` leaves behind:
// its volumes once the containers are gone, and its network.
func removeStack(t *testing.T, stack string) {
	if out, err := dockerErr("stack", "rm", stack); err != nil {
		t.Errorf("cleanup: stack rm: %v %s", err, out)
	}
	label := "label=com.docker.stack.namespace=" + stack
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ctrs, _ := dockerErr("ps", "--all", "--quiet", "--filter", label)
		nets, _ := dockerErr("network", "ls", "--quiet", "--filter", label)
		if ctrs == "" && nets == "" {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	vols, _ := dockerErr("volume", "ls", "--quiet", "--filter", label)
	for _, v := range strings.Fields(vols) {
		if out, err := dockerErr("volume", "rm", v); err != nil {
			t.Errorf("cleanup: volume rm %s: %v %s", v, err, out)
		}
	}
	// The secrets certdock created for web (not part of the stack).
	secs, _ := dockerErr("secret", "ls", "--quiet", "--filter", "label=certdock.managed-by", "--filter", "label=certdock.lineage="+webName)
	for _, s := range strings.Fields(secs) {
		if out, err := dockerErr("secret", "rm", s); err != nil {
			t.Errorf("cleanup: secret rm %s: %v %s", s, err, out)
		}
	}
	for _, kind := range []string{"ps --all", "network ls", "secret ls", "service ls"} {
		args := append(strings.Fields(kind), "--quiet", "--filter", label)
		if left, _ := dockerErr(args...); left != "" {
			t.Errorf("cleanup: stack %s left %s: %s", stack, kind, left)
		}
	}
}
