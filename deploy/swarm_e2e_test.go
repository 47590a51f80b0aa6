package deploy_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
)

// The lease messages of certdock's log that tell an active certdock from
// one that stopped acting (clusterstate's elector and internal/app).
const (
	msgActive      = "this certdock is the active one"
	msgStopped     = "stopped acting: the swarm lease could not be renewed"
	msgOtherHolds  = "another certdock holds the swarm lease"
	msgLeaseLost   = "this certdock no longer holds the swarm lease"
	swarmStackName = "certdock"
)

// swarmTakeover bounds a takeover: the 30 s, plus the time Swarm
// takes to see a node gone and a certdock to start and read the swarm.
const swarmTakeover = 90 * time.Second

// TestStackOnMultiNodeSwarm deploys stack.yml as README tells Swarm users
// to, on a real swarm of 3 managers and 2 workers (testenv.StartSwarm,
// each node a dockerd in its own network namespace), with the image the
// Dockerfile builds, certdock scaled to 2 replicas on different managers.
// Pebble (behind the counting ACMEProxy) and bind9 run on the host; the
// nodes reach them through relays on the swarm's bridge. In order:
//
//   - both web tasks, on the two workers, get the certificate as secrets,
//     ordered once with one ACME account although two certdocks run;
//   - the active certdock's manager is cut off (its veth down): that
//     certdock stops acting, the other takes over, Swarm starts a third
//     task (empty volume) on the remaining manager, nothing is ordered;
//   - once the cut manager is back, the dockerd of the node running the
//     active certdock is killed: another, whose volume was empty when it
//     started (the third task, or the one Swarm starts in place of the
//     killed node's), takes over without ordering, and a
//     forced renewal run in its container reaches both web tasks as new
//     secrets. One ACME account throughout.
func TestStackOnMultiNodeSwarm(t *testing.T) {
	testenv.RequireDocker(t)
	ref := testenv.BuildCertdockImage(t, "..")
	busybox := testenv.BusyboxImage(t)
	bind := testenv.StartBind(t, "example.com")
	pebble := testenv.StartPebble(t, bind.Addr, nil)
	proxy := testenv.StartACMEProxy(t, pebble)
	start := time.Now()
	s := testenv.StartSwarm(t, testenv.SwarmOptions{Managers: 3, Workers: 2, Images: []string{ref, busybox}, Heartbeat: 2 * time.Second})
	t.Logf("swarm of 3 managers + 2 workers up, images loaded, in %v", time.Since(start).Round(time.Millisecond))
	acme := testenv.StartRelay(t, s.HostAddr, proxy.Addr)
	dns := testenv.StartRelay(t, s.HostAddr, bind.Addr)
	m1 := s.Nodes[0]

	// The files of the stack: stack.yml as shipped, the TSIG secret as the
	// dns_api_token its secrets section reads, the state key created once
	// as README says, and an override for this test's CA, DNS and nodes.
	dir := t.TempDir()
	data, err := os.ReadFile("stack.yml")
	if err != nil {
		t.Fatal(err)
	}
	base := writeFile(t, filepath.Join(dir, "stack.yml"), string(data))
	writeFile(t, filepath.Join(dir, "dns_api_token.txt"), bind.KeySecret)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	secret := m1.Command(context.Background(), "secret", "create", "certdock_state_key", "-")
	secret.Stdin = strings.NewReader(base64.StdEncoding.EncodeToString(key))
	if out, err := secret.CombinedOutput(); err != nil {
		t.Fatalf("docker secret create certdock_state_key: %v: %s", err, out)
	}
	_, port, _ := strings.Cut(acme.Addr, ":")
	env := map[string]string{
		"ACME_DIRECTORY_URL":         "https://" + testenv.ACMEProxyName + ":" + port + "/dir",
		"ACME_CA_CERTIFICATES":       "/acme-ca.pem",
		"DNS_PROVIDER":               "rfc2136",
		"DNS_RESOLVERS":              dns.Addr,
		"DNSUPDATE_NAMESERVER":       dns.Addr,
		"DNSUPDATE_TSIG_KEY":         bind.KeyName,
		"DNSUPDATE_TSIG_ALGORITHM":   bind.KeyAlgorithm,
		"DNSUPDATE_TSIG_SECRET_FILE": "/run/secrets/dns_api_token",
		"DNSUPDATE_ZONES":            strings.Join(bind.Zones, ","),
		// On each node, its own engine (the stack's socket mount is the
		// host's engine here: every node shares this machine's files).
		"DOCKER_HOST":        testenv.NodeDockerHost,
		"CERTDOCK_LOG_LEVEL": "debug",
	}
	override := writeFile(t, filepath.Join(dir, "override.yml"), fmt.Sprintf(`version: "3.8"
services:
  certdock:
    image: %q
    environment:
%s    volumes:
      - %s:/acme-ca.pem:ro
    networks:
      - hostnet
    extra_hosts:
      - "%s:%s"
    deploy:
      replicas: 2
      placement:
        max_replicas_per_node: 1
      restart_policy:
        delay: 1s
  web:
    image: %q
    command: ["sh", "-c", "while :; do sleep 1; done"]
    deploy:
      placement:
        constraints:
          - node.role == worker
        max_replicas_per_node: 1
networks:
  hostnet:
    external: true
    name: host
`, ref, yamlMap("      ", env), proxy.CAFile, testenv.ACMEProxyName, s.HostAddr, busybox))

	start = time.Now()
	m1.Docker(t, "stack", "deploy", "--resolve-image", "never", "--compose-file", base, "--compose-file", override, swarmStackName)
	c := &swarmCluster{s: s, service: swarmStackName + "_certdock"}
	defer func() {
		if t.Failed() {
			c.dumpLogs(t)
		}
	}()

	// 1. Two certdocks, one order, one account; both workers' tasks get it.
	secretFile := "/run/secrets/" + webName + "/fullchain.pem"
	var v1 map[string]string
	eventually(t, 3*time.Minute, "both web tasks to hold the certificate as secrets", func() bool {
		v1 = c.webFiles(t, secretFile)
		return len(v1) == 2
	})
	t.Logf("stack deploy → certificate issued and delivered to the web tasks on both workers in %v", time.Since(start).Round(10*time.Millisecond))
	first := v1[s.Workers()[0].Name]
	if v1[s.Workers()[1].Name] != first {
		t.Fatal("the two web tasks hold different certificates")
	}
	h := &harness{pebble: pebble} // the proxy passes Pebble's chain through
	h.verifyChain(t, first, webName)
	c.checkKeyPair(t, s.Workers()[0], "/run/secrets/"+webName)
	if got := c.running(t); len(got) != 2 {
		t.Fatalf("%d certdock tasks running, want 2", len(got))
	}
	orders, accounts := proxy.Count(testenv.EndpointFinalize), accountsCreated(proxy)
	if orders != 1 || accounts != 1 {
		t.Fatalf("two certdocks finalized %d orders and created %d accounts, want 1 and 1:\n%s", orders, accounts, proxy.Summary(start))
	}

	// 2. The active certdock's manager is cut off.
	a := c.waitActive(t, nil, 60*time.Second, "an active certdock")
	t.Logf("the active certdock runs on %s", a.node.Name)
	cut := time.Now()
	s.Cut(t, a.node)
	b := c.waitActive(t, a.node, swarmTakeover, "another certdock to take over from the cut-off one")
	t.Logf("%s took over %v after %s was cut off; its lease messages meanwhile:%s", b.node.Name, time.Since(cut).Round(time.Millisecond), a.node.Name, leaseLines(c.logs(b), cut))
	// Never two orderers: the cut-off certdock stopped acting before the
	// other began (their clocks are this machine's).
	var stopped time.Time
	eventually(t, 15*time.Second, "the cut-off certdock's log to say it stopped acting", func() bool {
		stopped = lastTime(c.logs(a), msgStopped, msgLeaseLost, msgOtherHolds)
		return !stopped.IsZero()
	})
	if began := lastTime(c.logs(b), msgActive); !stopped.Before(began) {
		t.Fatalf("the certdock on %s stopped acting at %v, after the one on %s began at %v", a.node.Name, stopped, b.node.Name, began)
	}
	var third certdockTask
	eventually(t, swarmTakeover, "Swarm to start the lost task on the third manager", func() bool {
		for _, x := range c.running(t) {
			if x.node != a.node && x.node != b.node {
				third = x
				return true
			}
		}
		return false
	})
	eventually(t, 60*time.Second, "the new task's volume to hold the certificate, from the swarm", func() bool {
		out, err := c.exec(third, "cat", "/etc/letsencrypt/live/"+webName+"/fullchain.pem")
		return err == nil && out == strings.TrimSpace(first)
	})
	if n := proxy.Count(testenv.EndpointFinalize); n != 1 {
		t.Fatalf("%d orders finalized after the takeover, want still 1", n)
	}
	s.Heal(t, a.node)
	s.WaitNodeState(t, a.node, "ready")

	// 3. The dockerd of the node running the active certdock is killed,
	// once the swarm has settled: the manager that rejoined may have
	// caused a Raft election, during which no certdock can renew the
	// lease and the active one stops (and is restarted by Swarm).
	b = c.stableActive(t, nil)
	killed := time.Now()
	s.Kill(t, b.node)
	d := c.waitActive(t, b.node, swarmTakeover, "another certdock to take over from the killed node's")
	t.Logf("%s took over %v after %s's dockerd was killed; its lease messages meanwhile:%s", d.node.Name, time.Since(killed).Round(time.Millisecond), b.node.Name, leaseLines(c.logs(d), killed))
	d = c.stableActive(t, b.node)
	if n := proxy.Count(testenv.EndpointFinalize); n != 1 {
		t.Fatalf("%d orders finalized after the second takeover, want still 1:\n%s", n, proxy.Summary(killed))
	}
	// renew returns once the new secrets are in both web services and
	// Swarm has replaced their tasks.
	out, err := nodeRunFor(3*time.Minute, d.node, "exec", d.id, "/certdock", "renew", "--force", webName)
	if err != nil {
		t.Fatalf("renew --force in the active certdock: %v", err)
	}
	t.Logf("renew --force printed %q", lastLine(out))
	renewed := time.Now()
	eventually(t, 3*time.Minute, "both web tasks to hold the renewed certificate", func() bool {
		v2 := c.webFiles(t, secretFile)
		return len(v2) == 2 && v2[s.Workers()[0].Name] != first && v2[s.Workers()[0].Name] == v2[s.Workers()[1].Name]
	})
	t.Logf("renewal delivered to both web tasks %v after renew --force", time.Since(renewed).Round(10*time.Millisecond))
	c.checkKeyPair(t, s.Workers()[1], "/run/secrets/"+webName)
	if n := proxy.Count(testenv.EndpointFinalize); n != 2 {
		t.Fatalf("%d orders finalized, want 2 (the first issuance and the forced renewal)", n)
	}
	if n := accountsCreated(proxy); n != 1 {
		t.Fatalf("%d ACME accounts created, want 1 for the whole test", n)
	}
}

// accountsCreated counts the newAccount requests that created an account
// (201; a lookup by key, which lego makes first, is answered otherwise).
func accountsCreated(p *testenv.ACMEProxy) int {
	n := 0
	for _, r := range p.Requests() {
		if r.Endpoint == testenv.EndpointNewAccount && r.Status == http.StatusCreated {
			n++
		}
	}
	return n
}

// swarmCluster reads certdock's and web's tasks on the nodes of a swarm.
type swarmCluster struct {
	s       *testenv.Swarm
	service string
}

// certdockTask is one container of the certdock service.
type certdockTask struct {
	node *testenv.SwarmNode
	id   string
}

// nodeRun runs the docker CLI against n, with a short timeout: a node that
// is cut off or killed must not hold the poll up.
func nodeRun(n *testenv.SwarmNode, args ...string) (string, error) {
	return nodeRunFor(20*time.Second, n, args...)
}

// nodeRunFor is nodeRun with another timeout.
func nodeRunFor(d time.Duration, n *testenv.SwarmNode, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	out, err := n.Command(ctx, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s: docker %s: %v: %s", n.Name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// running lists the running containers of the certdock service, on every
// node whose engine answers.
func (c *swarmCluster) running(t *testing.T) []certdockTask {
	t.Helper()
	var out []certdockTask
	for _, n := range c.s.Managers() {
		ids, err := nodeRun(n, "ps", "--quiet", "--filter", "status=running", "--filter", "label=com.docker.swarm.service.name="+c.service)
		if err != nil {
			continue
		}
		for _, id := range strings.Fields(ids) {
			out = append(out, certdockTask{node: n, id: id})
		}
	}
	return out
}

// logs is a certdock container's log, "" when its engine does not answer.
func (c *swarmCluster) logs(x certdockTask) string {
	out, _ := nodeRun(x.node, "logs", x.id)
	return out
}

// exec runs a command in a certdock container.
func (c *swarmCluster) exec(x certdockTask, args ...string) (string, error) {
	return nodeRun(x.node, append([]string{"exec", x.id}, args...)...)
}

// isActive tells from a certdock's log whether it holds the lease now: it
// said so, and has not said since that it stopped acting.
func isActive(logs string) bool {
	last := func(s string) int { return strings.LastIndex(logs, s) }
	held := last(msgActive)
	return held >= 0 && held > max(last(msgStopped), last(msgOtherHolds), last(msgLeaseLost))
}

// leaseLines quotes the time and message of a certdock's log lines about
// the swarm lease since t, for the test's log.
func leaseLines(logs string, t time.Time) string {
	var b strings.Builder
	for _, line := range strings.Split(logs, "\n") {
		var rec struct {
			Time     time.Time
			Msg, Err string
		}
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Time.Before(t) || !strings.Contains(rec.Msg, "lease") {
			continue
		}
		fmt.Fprintf(&b, "\n  +%v %s %s", rec.Time.Sub(t).Round(100*time.Millisecond), rec.Msg, rec.Err)
	}
	return b.String()
}

// lastLine is the last line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// lastTime is the time of the last line of a certdock's JSON log that
// holds one of msgs; zero when none does.
func lastTime(logs string, msgs ...string) time.Time {
	var at time.Time
	for _, line := range strings.Split(logs, "\n") {
		if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(line, m) }) {
			continue
		}
		var rec struct{ Time time.Time }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Time.After(at) {
			at = rec.Time
		}
	}
	return at
}

// tryActive returns the one running certdock, on a node other than not,
// that holds the lease; it fails t if two do.
func (c *swarmCluster) tryActive(t *testing.T, not *testenv.SwarmNode) (certdockTask, bool) {
	t.Helper()
	var found []certdockTask
	for _, x := range c.running(t) {
		if x.node != not && isActive(c.logs(x)) {
			found = append(found, x)
		}
	}
	switch len(found) {
	case 0:
		return certdockTask{}, false
	case 1:
		return found[0], true
	}
	t.Fatalf("%d certdocks act at once: on %s and %s", len(found), found[0].node.Name, found[1].node.Name)
	return certdockTask{}, false
}

// stableFor is how long stableActive wants one certdock active: longer
// than a holder goes without renewing before it stops acting (12 s).
const stableFor = 20 * time.Second

// stableActive waits until one running certdock, on a node other than
// not, has held the lease for stableFor without a break.
func (c *swarmCluster) stableActive(t *testing.T, not *testenv.SwarmNode) certdockTask {
	t.Helper()
	var (
		cur   certdockTask
		since time.Time
	)
	eventually(t, 3*time.Minute, "one certdock to stay active for "+stableFor.String(), func() bool {
		x, ok := c.tryActive(t, not)
		switch {
		case !ok:
			since = time.Time{}
		case x != cur || since.IsZero():
			cur, since = x, time.Now()
		}
		return ok && time.Since(since) >= stableFor
	})
	return cur
}

// waitActive waits up to timeout for a running certdock, on a node other
// than not, that holds the lease.
func (c *swarmCluster) waitActive(t *testing.T, not *testenv.SwarmNode, timeout time.Duration, what string) certdockTask {
	t.Helper()
	var x certdockTask
	eventually(t, timeout, what, func() bool {
		var ok bool
		x, ok = c.tryActive(t, not)
		return ok
	})
	return x
}

// webFiles reads path in the running web task of each worker, keyed by
// the worker's name; a worker whose task lacks it is left out.
func (c *swarmCluster) webFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, w := range c.s.Workers() {
		id, err := nodeRun(w, "ps", "--quiet", "--filter", "status=running", "--filter", "label=com.docker.swarm.service.name="+swarmStackName+"_web")
		if err != nil || id == "" || strings.Contains(id, "\n") {
			continue
		}
		if out, err := nodeRun(w, "exec", id, "cat", path); err == nil && out != "" {
			got[w.Name] = out
		}
	}
	return got
}

// checkKeyPair checks that the secrets in dir of w's web task are a
// certificate and its private key.
func (c *swarmCluster) checkKeyPair(t *testing.T, w *testenv.SwarmNode, dir string) {
	t.Helper()
	files := map[string]string{}
	for _, f := range []string{"fullchain.pem", "privkey.pem"} {
		got := c.webFiles(t, dir+"/"+f)
		if got[w.Name] == "" {
			t.Fatalf("%s: the web task has no %s/%s", w.Name, dir, f)
		}
		files[f] = got[w.Name]
	}
	if _, err := tls.X509KeyPair([]byte(files["fullchain.pem"]), []byte(files["privkey.pem"])); err != nil {
		t.Fatalf("%s: the web task's fullchain.pem and privkey.pem do not match: %v", w.Name, err)
	}
}

// dumpLogs logs every certdock container's log that can still be read,
// and the service's task history.
func (c *swarmCluster) dumpLogs(t *testing.T) {
	for _, n := range c.s.Managers() {
		ids, err := nodeRun(n, "ps", "--all", "--quiet", "--filter", "label=com.docker.swarm.service.name="+c.service)
		if err != nil {
			continue
		}
		for _, id := range strings.Fields(ids) {
			out, _ := nodeRun(n, "logs", "--tail", "60", id)
			t.Logf("certdock %s on %s:\n%s", id, n.Name, out)
		}
	}
	for _, n := range c.s.Managers() {
		if out, err := nodeRun(n, "service", "ps", "--no-trunc", c.service); err == nil {
			t.Logf("docker service ps %s:\n%s", c.service, out)
			break
		}
	}
}
