package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// NodeDockerHost is where every node's engine also listens, on the node's
// own loopback: inside a node's network namespace (a service started with
// --network host, or a process run there) DOCKER_HOST=NodeDockerHost
// reaches the engine of the node it runs on, wherever Swarm placed it.
const NodeDockerHost = "tcp://127.0.0.1:2375"

const (
	// swarmCommandTimeout bounds one docker CLI call against a node.
	swarmCommandTimeout = 2 * time.Minute
	// swarmWaitTimeout bounds waiting for a node state.
	swarmWaitTimeout = 2 * time.Minute
	// swarmPoll is how often node states are polled.
	swarmPoll = 250 * time.Millisecond
)

// SwarmOptions says what StartSwarm builds.
type SwarmOptions struct {
	// Managers is the number of manager nodes; zero means one.
	Managers int
	// Workers is the number of worker nodes.
	Workers int
	// Images are references of images on the host's engine, loaded into
	// every node's engine (docker save | docker load): nodes have no
	// registry and no route to one.
	Images []string
	// Heartbeat is the dispatcher heartbeat period (docker swarm init
	// --dispatcher-heartbeat); zero keeps Docker's 5s. A node that is cut
	// off is marked down after a few missed heartbeats.
	Heartbeat time.Duration
}

// Swarm is a multi-node Docker Swarm on this machine, started by
// StartSwarm: one dockerd per node, each in its own network namespace
// with one veth on a private bridge. Nodes reach each other and the
// host's bridge address, nothing else.
type Swarm struct {
	// Nodes are the managers (Nodes[0] ran swarm init), then the workers.
	Nodes []*SwarmNode
	// Bridge is the host's bridge interface that links the nodes.
	Bridge string
	// Subnet is the bridge's private IPv4 /24 (CIDR notation).
	Subnet string
	// HostAddr is the bridge's host address (the subnet's .1): host-side
	// servers (Pebble, bind9) must listen there to be reachable from the
	// nodes; the host's loopback is not. Only processes in a node's own
	// network namespace reach it (containers and services run with
	// --network host): engines run with --iptables=false, so nothing
	// masquerades traffic from overlay networks (verified: a container on
	// an attachable overlay cannot connect), and containers without a
	// network option get none (--bridge none).
	HostAddr string
	// Dir holds every node's directories, sockets and logs. Everything
	// this swarm started names it on its command line.
	Dir string

	subnet *net.IPNet // Subnet, parsed
	prefix string     // the first characters of every name of this swarm
	tools  swarmTools // binaries and the host's storage driver
	lock   *os.File   // flocked while the swarm lives (see reapStaleSwarms)
	mu     sync.Mutex // guards the nodes' cut, killed and daemon fields
	once   sync.Once  // Close runs the teardown once
	err    error      // the teardown's result
	logf   func(string, ...any)
}

// SwarmNode is one node of a Swarm.
type SwarmNode struct {
	// Name is the node's short name: m1, m2, … for managers, w1, … for
	// workers. Swarm's own node names are all the machine's hostname.
	Name string
	// ID is the node's Swarm node ID (for constraints such as
	// node.id==ID).
	ID string
	// Manager reports whether the node joined as a manager.
	Manager bool
	// Addr is the node's IPv4 address on the bridge; it is also its Swarm
	// advertise address.
	Addr string
	// Socket is the path of the node's engine socket on the host.
	Socket string
	// NetNS is the name of the node's network namespace (ip netns); its
	// path is /var/run/netns/NetNS.
	NetNS string
	// Veth is the host side of the node's link to the bridge.
	Veth string

	swarm  *Swarm
	dir    string
	daemon *swarmDaemon // the running dockerd, nil before start
	cut    bool
	killed bool
}

// DockerHost returns the DOCKER_HOST value that reaches the node's engine
// from the host.
func (n *SwarmNode) DockerHost() string { return "unix://" + n.Socket }

// Command returns a docker CLI command against the node's engine: its
// environment is the test's, with DOCKER_HOST pointing at the node and
// any DOCKER_CONTEXT, TLS or certificate settings removed.
func (n *SwarmNode) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, n.swarm.tools.docker, args...)
	env := []string{"DOCKER_HOST=" + n.DockerHost()}
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS":
		default:
			env = append(env, kv)
		}
	}
	cmd.Env = env
	return cmd
}

// Docker runs the docker CLI with args against the node's engine and
// returns its standard output without surrounding space. It fails t,
// quoting the error output, when the command fails or takes longer than
// two minutes.
func (n *SwarmNode) Docker(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), swarmCommandTimeout)
	defer cancel()
	out, err := n.run(ctx, args...)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return out
}

// run is Docker returning the error instead of failing a test.
func (n *SwarmNode) run(ctx context.Context, args ...string) (string, error) {
	cmd := n.Command(ctx, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: docker %s: %v: %s", n.Name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// Manager returns the first manager that is neither cut off nor killed,
// else the first manager that is not killed (it still answers on its
// socket). It fails t when every manager is killed.
func (s *Swarm) Manager(t testing.TB) *SwarmNode {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var fallback *SwarmNode
	for _, n := range s.Nodes {
		switch {
		case !n.Manager || n.killed:
		case !n.cut:
			return n
		case fallback == nil:
			fallback = n
		}
	}
	if fallback == nil {
		t.Fatalf("testenv: every manager of the swarm is killed")
	}
	return fallback
}

// Managers returns the manager nodes.
func (s *Swarm) Managers() []*SwarmNode { return s.filter(true) }

// Workers returns the worker nodes.
func (s *Swarm) Workers() []*SwarmNode { return s.filter(false) }

func (s *Swarm) filter(manager bool) []*SwarmNode {
	var nodes []*SwarmNode
	for _, n := range s.Nodes {
		if n.Manager == manager {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// Cut takes n off the network: the host side of its veth goes down, so
// it reaches neither the other nodes nor the host. Its engine still
// answers on its socket.
func (s *Swarm) Cut(t testing.TB, n *SwarmNode) {
	t.Helper()
	s.setLink(t, n, "down", true)
}

// Heal puts a node that was cut off back on the network.
func (s *Swarm) Heal(t testing.TB, n *SwarmNode) {
	t.Helper()
	s.setLink(t, n, "up", false)
}

func (s *Swarm) setLink(t testing.TB, n *SwarmNode, state string, cut bool) {
	t.Helper()
	if err := runTool(s.tools.ip, "link", "set", n.Veth, state); err != nil {
		t.Fatalf("testenv: %s: %v", n.Name, err)
	}
	s.mu.Lock()
	n.cut = cut
	s.mu.Unlock()
}

// Kill kills n's dockerd (SIGKILL, as in a crash) and waits until it has
// exited. Its containerd goes with it; its containers keep running under
// their shims, as they would on a node whose engine crashed. Restart
// brings the engine back.
func (s *Swarm) Kill(t testing.TB, n *SwarmNode) {
	t.Helper()
	s.mu.Lock()
	d := n.daemon
	n.killed = true
	s.mu.Unlock()
	if d == nil {
		return
	}
	if err := d.kill(); err != nil {
		t.Fatalf("testenv: %s: %v", n.Name, err)
	}
}

// Restart starts n's dockerd again after Kill (or stops it gracefully
// first if it runs) and waits until it answers; the node then rejoins
// the swarm by itself (wait for it with WaitNodeState).
func (s *Swarm) Restart(t testing.TB, n *SwarmNode) {
	t.Helper()
	s.mu.Lock()
	d := n.daemon
	s.mu.Unlock()
	if d != nil {
		if err := d.stop(); err != nil {
			t.Fatalf("testenv: %s: %v", n.Name, err)
		}
	}
	if err := s.startDaemon(n); err != nil {
		t.Fatalf("testenv: %s: %v", n.Name, err)
	}
	s.mu.Lock()
	n.killed = false
	s.mu.Unlock()
}

// NodeState returns n's state as a manager sees it (Status.State: ready,
// down, unknown, disconnected) and, for a manager node, its reachability
// (reachable, unreachable, unknown), asking s.Manager.
func (s *Swarm) NodeState(t testing.TB, n *SwarmNode) (state, reachability string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), swarmCommandTimeout)
	defer cancel()
	states, err := s.Manager(t).nodeStates(ctx, n.ID)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	st := states[n.ID]
	return st.state, st.reachability
}

// WaitNodeState waits up to two minutes until a manager reports n in
// state (ready, down, …); for a manager node, ready also needs it
// reachable. It fails t, naming the last state seen, when the time runs
// out. Errors from the manager (no leader during an election) are
// retried.
func (s *Swarm) WaitNodeState(t testing.TB, n *SwarmNode, state string) {
	t.Helper()
	deadline := time.Now().Add(swarmWaitTimeout)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		states, err := s.Manager(t).nodeStates(ctx, n.ID)
		cancel()
		if err == nil {
			st := states[n.ID]
			if st.state == state && (state != "ready" || !n.Manager || st.reachability == "reachable") {
				return
			}
			last = st.String()
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: node %s (%s) not %s after %v; last seen: %s", n.Name, n.ID, state, swarmWaitTimeout, last)
		}
		time.Sleep(swarmPoll)
	}
}

// nodeState is one node as a manager reports it.
type nodeState struct {
	state, reachability string
	leader              bool
}

func (st nodeState) String() string {
	s := st.state
	if st.reachability != "" {
		s += "/" + st.reachability
	}
	if st.leader {
		s += "/leader"
	}
	return s
}

// nodeStates asks manager n for the state of the nodes ids.
func (n *SwarmNode) nodeStates(ctx context.Context, ids ...string) (map[string]nodeState, error) {
	args := append([]string{"node", "inspect", "--format",
		"{{.ID}} {{.Status.State}} {{with .ManagerStatus}}{{.Reachability}} {{.Leader}}{{end}}"}, ids...)
	out, err := n.run(ctx, args...)
	if err != nil {
		return nil, err
	}
	states := map[string]nodeState{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		st := nodeState{state: f[1]}
		if len(f) >= 4 {
			st.reachability, st.leader = f[2], f[3] == "true"
		}
		states[f[0]] = st
	}
	return states, nil
}

// Close tears the swarm down: it removes services and containers through
// the engines, stops every dockerd, kills what outlived them (shims and
// their containers), unmounts what they left mounted, and deletes the
// namespaces, veths, bridge, iptables rule and directories. It returns
// an error naming anything that is left. StartSwarm registers it as a
// cleanup; calling it earlier is allowed, and later calls return the
// first result.
func (s *Swarm) Close() error {
	s.once.Do(func() { s.err = s.teardown() })
	return s.err
}

// nodeDir returns a node's directory.
func (s *Swarm) nodeDir(name string) string { return filepath.Join(s.Dir, name) }
