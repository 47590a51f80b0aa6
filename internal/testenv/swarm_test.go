package testenv_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
)

// swarmHeartbeat makes cut-off nodes go down within seconds.
const swarmHeartbeat = 2 * time.Second

func TestSwarmManagerAndWorkers(t *testing.T) {
	image := testenv.BusyboxImage(t)
	start := time.Now()
	s := testenv.StartSwarm(t, testenv.SwarmOptions{
		Managers: 1, Workers: 2, Images: []string{image}, Heartbeat: swarmHeartbeat,
	})
	t.Logf("setup (3 nodes, 1 image loaded on each) took %v", time.Since(start).Round(time.Millisecond))
	checkSwarmLayout(t, s)

	m, w := s.Manager(t), s.Workers()[0]
	if m != s.Nodes[0] {
		t.Fatalf("Manager() = %s, want %s", m.Name, s.Nodes[0].Name)
	}

	// A secret mounted into a task pinned to a worker, with a directory
	// in its target and mode 0400.
	secret := "-----BEGIN TEST KEY-----\n" + randomHex(t) + "\n-----END TEST KEY-----"
	file := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(file, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	m.Docker(t, "secret", "create", "probe-key", file)
	m.Docker(t, "service", "create", "--detach", "--name", "probe",
		"--constraint", "node.id=="+w.ID,
		"--secret", "source=probe-key,target=dir/file.pem,mode=0400",
		image, "sleep", "3600")
	task := waitRunningTask(t, w, "probe")
	const path = "/run/secrets/dir/file.pem"
	if got := w.Docker(t, "exec", task, "stat", "-c", "%a", path); got != "400" {
		t.Errorf("mode of %s = %s, want 400", path, got)
	}
	if got := w.Docker(t, "exec", task, "cat", path); got != secret {
		t.Errorf("content of %s = %q, want %q", path, got, secret)
	}
	for _, n := range s.Nodes {
		if n != w && n.Docker(t, "ps", "--quiet") != "" {
			t.Errorf("node %s runs containers; the task is pinned to %s", n.Name, w.Name)
		}
	}

	// From a worker's namespace: the host's bridge address and the
	// node's own engine on NodeDockerHost.
	checkReachFromNode(t, s, w, image)

	s.Cut(t, w)
	cut := time.Now()
	s.WaitNodeState(t, w, "down")
	t.Logf("cut-off worker went down after %v", time.Since(cut).Round(time.Millisecond))
	s.Heal(t, w)
	healed := time.Now()
	s.WaitNodeState(t, w, "ready")
	t.Logf("healed worker was ready again after %v", time.Since(healed).Round(time.Millisecond))

	// The worker's engine crashes with the task running: the task's shim
	// outlives it, and the teardown must still remove everything.
	s.Kill(t, w)
	if shims := processesNaming(t, filepath.Join(filepath.Dir(w.Socket), "exec")+"/", "containerd-shim"); len(shims) == 0 {
		t.Errorf("no containerd-shim of %s outlived its dockerd; the teardown test below proves less", w.Name)
	}

	begin := time.Now()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("teardown took %v", time.Since(begin).Round(time.Millisecond))
	checkSwarmGone(t, s)
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSwarmQuorum(t *testing.T) {
	start := time.Now()
	s := testenv.StartSwarm(t, testenv.SwarmOptions{Managers: 3, Workers: 1, Heartbeat: swarmHeartbeat})
	t.Logf("setup (3 managers, 1 worker) took %v", time.Since(start).Round(time.Millisecond))
	checkSwarmLayout(t, s)

	statuses := s.Nodes[0].Docker(t, "node", "ls", "--format", "{{.ID}} {{.ManagerStatus}}")
	counts := map[string]int{}
	for _, line := range strings.Split(statuses, "\n") {
		status, _ := strings.CutPrefix(line, strings.Fields(line)[0])
		counts[strings.TrimSpace(status)]++
	}
	if counts["Leader"] != 1 || counts["Reachable"] != 2 || counts[""] != 1 {
		t.Fatalf("manager statuses = %v, want 1 Leader, 2 Reachable, 1 worker (none)", counts)
	}
	leader := s.Nodes[0] // swarm init made it the leader
	if st, r := s.NodeState(t, leader); st != "ready" || r != "reachable" {
		t.Fatalf("NodeState(%s) = %s, %s; want ready, reachable", leader.Name, st, r)
	}

	// The leader's engine crashes: the other two managers keep a quorum,
	// elect a leader and see the old one down.
	s.Kill(t, leader)
	killed := time.Now()
	if m := s.Manager(t); m == leader {
		t.Fatalf("Manager() returned the killed node %s", m.Name)
	}
	s.WaitNodeState(t, leader, "down")
	t.Logf("killed leader was down after %v", time.Since(killed).Round(time.Millisecond))
	if got := s.Manager(t).Docker(t, "node", "ls", "--filter", "role=manager", "--format", "{{.ManagerStatus}}"); !strings.Contains(got, "Leader") {
		t.Errorf("no leader among the remaining managers: %q", got)
	}

	s.Restart(t, leader)
	restarted := time.Now()
	s.WaitNodeState(t, leader, "ready")
	t.Logf("restarted manager was ready and reachable after %v", time.Since(restarted).Round(time.Millisecond))

	begin := time.Now()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("teardown took %v", time.Since(begin).Round(time.Millisecond))
	checkSwarmGone(t, s)
}

// checkSwarmLayout checks the names and addresses StartSwarm promises.
func checkSwarmLayout(t *testing.T, s *testenv.Swarm) {
	t.Helper()
	_, subnet, err := net.ParseCIDR(s.Subnet)
	if err != nil || !strings.HasSuffix(s.Subnet, "/24") || !subnet.IP.IsPrivate() {
		t.Errorf("Subnet = %q, want a private /24", s.Subnet)
		return
	}
	if ip := net.ParseIP(s.HostAddr); ip == nil || !subnet.Contains(ip) {
		t.Errorf("HostAddr %q is not in %s", s.HostAddr, s.Subnet)
	}
	if len(s.Bridge) > 15 {
		t.Errorf("bridge name %q is longer than 15 characters", s.Bridge)
	}
	ids, addrs := map[string]bool{}, map[string]bool{s.HostAddr: true}
	for _, n := range s.Nodes {
		if n.ID == "" || ids[n.ID] || addrs[n.Addr] || !subnet.Contains(net.ParseIP(n.Addr)) {
			t.Errorf("node %s: ID %q, Addr %q: want unique, in %s", n.Name, n.ID, n.Addr, s.Subnet)
		}
		ids[n.ID], addrs[n.Addr] = true, true
		if len(n.Veth) > 15 {
			t.Errorf("veth name %q is longer than 15 characters", n.Veth)
		}
		if n.DockerHost() != "unix://"+n.Socket {
			t.Errorf("DockerHost() = %q", n.DockerHost())
		}
		if got := n.Docker(t, "info", "--format", "{{.Swarm.NodeID}} {{.Swarm.NodeAddr}} {{.Swarm.ControlAvailable}}"); got != fmt.Sprintf("%s %s %t", n.ID, n.Addr, n.Manager) {
			t.Errorf("node %s: docker info = %q, want %q", n.Name, got, fmt.Sprintf("%s %s %t", n.ID, n.Addr, n.Manager))
		}
	}
}

// waitRunningTask waits until node runs a task container of service and
// returns its ID.
func waitRunningTask(t *testing.T, n *testenv.SwarmNode, service string) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		id := n.Docker(t, "ps", "--quiet", "--filter", "status=running",
			"--filter", "label=com.docker.swarm.service.name="+service)
		if id != "" && !strings.Contains(id, "\n") {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("no running task of %s on %s; service ps: %s", service, n.Name,
				n.Docker(t, "ps", "--all", "--format", "{{.Names}} {{.Status}}"))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkReachFromNode runs containers in n's network namespace that fetch
// from a server on the bridge's host address and ping n's engine on
// NodeDockerHost.
func checkReachFromNode(t *testing.T, s *testenv.Swarm, n *testenv.SwarmNode, image string) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(s.HostAddr, "0"))
	if err != nil {
		t.Fatalf("listen on the bridge's host address: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "hello from the host")
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	url := "http://" + ln.Addr().String() + "/"
	if got := n.Docker(t, "run", "--rm", "--network", "host", image, "wget", "-q", "-O", "-", url); got != "hello from the host" {
		t.Errorf("GET %s from %s = %q", url, n.Name, got)
	}
	ping := strings.Replace(testenv.NodeDockerHost, "tcp://", "http://", 1) + "/_ping"
	if got := n.Docker(t, "run", "--rm", "--network", "host", image, "wget", "-q", "-O", "-", ping); got != "OK" {
		t.Errorf("GET %s from %s = %q, want OK", ping, n.Name, got)
	}
}

// checkSwarmGone checks, with the host's own tools, that nothing of s is
// left: namespaces, interfaces, the iptables rule, processes naming its
// directory, mounts under it, the directory.
func checkSwarmGone(t *testing.T, s *testenv.Swarm) {
	t.Helper()
	names := []string{s.Bridge}
	for _, n := range s.Nodes {
		names = append(names, n.NetNS, n.Veth)
	}
	netns, _ := exec.Command("ip", "netns", "list").CombinedOutput()
	links, _ := exec.Command("ip", "-o", "link", "show").CombinedOutput()
	for _, name := range names {
		for _, line := range strings.Split(string(netns)+string(links), "\n") {
			if strings.Contains(line, name) {
				t.Errorf("left after Close: %s", line)
			}
		}
	}
	rules, err := exec.Command("iptables", "-w", "-S", "FORWARD").Output()
	if err != nil {
		t.Errorf("iptables -S FORWARD: %v", err)
	}
	if strings.Contains(string(rules), s.Bridge) {
		t.Errorf("iptables rule for %s left after Close:\n%s", s.Bridge, rules)
	}
	for _, p := range processesNaming(t, s.Dir) {
		t.Errorf("process left after Close: %s", p)
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), s.Dir) {
		t.Errorf("mounts under %s left after Close", s.Dir)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("%s left after Close (%v)", s.Dir, err)
	}
}

// processesNaming returns the command lines of the processes whose
// command line contains every one of words.
func processesNaming(t *testing.T, words ...string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		cmdline := strings.ReplaceAll(string(b), "\x00", " ")
		all := cmdline != ""
		for _, w := range words {
			all = all && strings.Contains(cmdline, w)
		}
		if all {
			found = append(found, p+": "+cmdline)
		}
	}
	return found
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
