package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	// swarmRootName is the directory under os.TempDir() that holds one
	// directory per swarm and the lock that serialises choosing names and
	// subnets across test processes.
	swarmRootName = "certdock-swarm"
	// swarmNamePrefix starts every name a swarm gives to a namespace,
	// interface or directory: then the owner's pid (5 base-36 digits) and
	// a per-process sequence number (2 base-36 digits), so that every
	// prefix has the same length and none is a prefix of another.
	swarmNamePrefix = "cds"
	// swarmSetupTimeout bounds the CLI calls that form the swarm.
	swarmSetupTimeout = 3 * time.Minute
	// swarmPort is the Swarm cluster management port.
	swarmPort = "2377"
)

// swarmSeq numbers the swarms of this process.
var swarmSeq atomic.Int64

// swarmTools are the binaries a swarm needs and the host's storage driver.
type swarmTools struct {
	nsenter, ip, iptables, dockerd, docker string
	driver                                 string
}

// StartSwarm starts a Docker Swarm of opts.Managers managers and
// opts.Workers workers on this machine and waits until every node is
// ready and every manager reachable. Each node is a dockerd in its own
// network namespace, linked by a veth to a new bridge that carries a free
// private /24 (172.16.Y.0/24: the host has .1, nodes .2 onwards); an
// iptables rule lets the bridge forward between its ports. Each engine
// also listens on NodeDockerHost inside its namespace.
//
// Everything is torn down by Swarm.Close, which StartSwarm registers as a
// cleanup, so it runs whether the test passes, fails or panics, and also
// when StartSwarm itself fails half way. Swarms left by a test process
// that died without its cleanups (go test -timeout) are removed by the
// next StartSwarm on the machine.
//
// It needs root, nsenter, ip, iptables, dockerd and the docker CLI, Linux,
// and the host's engine (for its storage driver and opts.Images); when one
// is missing it skips t (fails it under CI=true). It skips under -short.
// Names are unique per process and swarm, so tests and test packages may
// start swarms in parallel.
func StartSwarm(t testing.TB, opts SwarmOptions) *Swarm {
	t.Helper()
	tools := requireSwarmTools(t)
	if opts.Managers < 1 {
		opts.Managers = 1
	}
	if opts.Managers+opts.Workers > 200 {
		t.Fatalf("testenv: a swarm of %d nodes does not fit in a /24", opts.Managers+opts.Workers)
	}
	start := time.Now()
	s, err := newSwarm(t, tools)
	if s != nil {
		t.Cleanup(func() {
			if t.Failed() {
				for _, n := range s.Nodes {
					t.Logf("testenv: last output of %s's dockerd:\n%s", n.Name, n.logTail(30))
				}
			}
			if err := s.Close(); err != nil {
				t.Errorf("testenv: %v", err)
			}
		})
	}
	if err == nil {
		err = s.setUp(opts)
	}
	if err != nil {
		t.Fatalf("testenv: start swarm: %v", err)
	}
	names := make([]string, len(s.Nodes))
	for i, n := range s.Nodes {
		names[i] = n.Name + "=" + n.Addr
	}
	t.Logf("testenv: swarm %s (%s on %s, host %s) ready in %v",
		s.prefix, strings.Join(names, " "), s.Bridge, s.HostAddr, time.Since(start).Round(time.Millisecond))
	return s
}

// requireSwarmTools finds the prerequisites or skips t (fails it in CI).
func requireSwarmTools(t testing.TB) swarmTools {
	t.Helper()
	RequireE2E(t)
	if runtime.GOOS != "linux" {
		unavailable(t, "a multi-node swarm needs Linux network namespaces (GOOS=%s)", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		unavailable(t, "a multi-node swarm needs root (network namespaces, bridges, iptables, dockerd)")
	}
	RequireDocker(t)
	tools := swarmTools{
		nsenter:  requireBinary(t, "nsenter", "util-linux"),
		ip:       requireBinary(t, "ip", "iproute2"),
		iptables: requireBinary(t, "iptables", "iptables"),
		dockerd:  requireBinary(t, "dockerd", "docker.io"),
		docker:   requireBinary(t, "docker", "docker.io"),
	}
	out, err := exec.Command(tools.docker, "info", "--format", "{{.Driver}}").Output()
	if err != nil {
		unavailable(t, "docker info (for the host's storage driver): %v", err)
	}
	tools.driver = strings.TrimSpace(string(out))
	return tools
}

// newSwarm claims names, a directory and a subnet, and creates the bridge
// and its iptables rule, holding the machine-wide lock so that parallel
// test processes never pick the same subnet. It first removes swarms left
// by dead processes. It returns the swarm (to be closed) as soon as
// there is anything to tear down, even with an error.
func newSwarm(t testing.TB, tools swarmTools) (*Swarm, error) {
	root := filepath.Join(os.TempDir(), swarmRootName)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	unlock, err := flockFile(filepath.Join(root, ".lock"), true)
	if err != nil {
		return nil, err
	}
	defer unlock.Close()
	reapStaleSwarms(root, tools, t.Logf)

	s := &Swarm{tools: tools, logf: t.Logf}
	if err := s.claimPrefix(root); err != nil {
		return nil, err
	}
	subnet, err := pickSubnet(os.Getpid())
	if err != nil {
		return s, err
	}
	s.subnet, s.Subnet = subnet, subnet.String()
	s.HostAddr = subnetHost(subnet, 1)
	s.Bridge = s.prefix + "br"
	steps := [][]string{
		{s.tools.ip, "link", "add", s.Bridge, "type", "bridge"},
		{s.tools.ip, "addr", "add", s.HostAddr + "/24", "dev", s.Bridge},
		{s.tools.ip, "link", "set", s.Bridge, "up"},
		// The host's FORWARD policy is DROP (the host's dockerd), and
		// br_netfilter sends bridged frames through it.
		append([]string{s.tools.iptables, "-w"}, s.forwardRule("-I")...),
	}
	for _, argv := range steps {
		if err := runTool(argv[0], argv[1:]...); err != nil {
			return s, err
		}
	}
	return s, nil
}

// claimPrefix picks this swarm's prefix, creates its directory and takes
// the lock that tells reapStaleSwarms the swarm is alive.
func (s *Swarm) claimPrefix(root string) error {
	pid := strconv.FormatInt(int64(os.Getpid()), 36)
	if len(pid) > 5 {
		return fmt.Errorf("pid %d needs more than 5 base-36 digits", os.Getpid())
	}
	for {
		seq := swarmSeq.Add(1)
		if seq >= 36*36 {
			return errors.New("more than 1295 swarms in one process")
		}
		prefix := swarmNamePrefix + zeroPad(pid, 5) + zeroPad(strconv.FormatInt(seq, 36), 2)
		if len(netnsNames(prefix))+len(linkNames(prefix)) > 0 {
			continue // left by an earlier process with this pid
		}
		dir := filepath.Join(root, prefix)
		if err := os.Mkdir(dir, 0o700); errors.Is(err, os.ErrExist) {
			continue
		} else if err != nil {
			return err
		}
		lock, err := flockFile(filepath.Join(dir, "lock"), false)
		if err != nil {
			return err
		}
		s.prefix, s.Dir, s.lock = prefix, dir, lock
		return nil
	}
}

// zeroPad left-pads s with zeros to width characters.
func zeroPad(s string, width int) string {
	return strings.Repeat("0", max(0, width-len(s))) + s
}

// flockFile opens (creating) path and takes an exclusive flock on it,
// waiting for it when wait is set. The lock lasts until the file is
// closed or the process ends.
func flockFile(path string, wait bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", path, err)
	}
	return f, nil
}

// forwardRule returns the iptables arguments after the command (-I, -C,
// -D) of the rule that lets the bridge forward between its ports.
func (s *Swarm) forwardRule(command string) []string {
	return forwardRule(command, s.prefix+"br")
}

func forwardRule(command, bridge string) []string {
	return []string{command, "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"}
}

// setUp creates the nodes, starts their engines, loads the images and
// forms the swarm.
func (s *Swarm) setUp(opts SwarmOptions) error {
	for i := range opts.Managers + opts.Workers {
		name := fmt.Sprintf("m%d", i+1)
		if i >= opts.Managers {
			name = fmt.Sprintf("w%d", i-opts.Managers+1)
		}
		n := &SwarmNode{
			Name:    name,
			Manager: i < opts.Managers,
			NetNS:   s.prefix + name,
			Veth:    s.prefix + name,
			swarm:   s,
			dir:     s.nodeDir(name),
		}
		n.Socket = filepath.Join(n.dir, "docker.sock")
		n.Addr = subnetHost(s.subnet, i+2)
		s.Nodes = append(s.Nodes, n)
		if err := s.plumb(n); err != nil {
			return fmt.Errorf("%s: %w", n.Name, err)
		}
	}
	if err := eachNode(s.Nodes, s.startDaemon); err != nil {
		return err
	}
	if err := s.loadImages(opts.Images); err != nil {
		return err
	}
	return s.form(opts)
}

// plumb makes n's directory, namespace and veth, and its config file.
func (s *Swarm) plumb(n *SwarmNode) error {
	if err := os.Mkdir(n.dir, 0o700); err != nil {
		return err
	}
	if err := n.checkPaths(); err != nil {
		return err
	}
	if err := n.writeConfig(s.tools.driver); err != nil {
		return err
	}
	ip := s.tools.ip
	steps := [][]string{
		{ip, "netns", "add", n.NetNS},
		{ip, "link", "add", n.Veth, "type", "veth", "peer", "name", "eth0", "netns", n.NetNS},
		{ip, "link", "set", n.Veth, "master", s.Bridge},
		{ip, "link", "set", n.Veth, "up"},
		{ip, "-n", n.NetNS, "addr", "add", n.Addr + "/24", "dev", "eth0"},
		{ip, "-n", n.NetNS, "link", "set", "eth0", "up"},
		// NodeDockerHost listens on the namespace's own loopback.
		{ip, "-n", n.NetNS, "link", "set", "lo", "up"},
	}
	for _, argv := range steps {
		if err := runTool(argv[0], argv[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// loadImages saves images from the host's engine once and loads them into
// every node's.
func (s *Swarm) loadImages(images []string) error {
	if len(images) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), swarmSetupTimeout)
	defer cancel()
	archive := filepath.Join(s.Dir, "images.tar")
	defer os.Remove(archive)
	args := append([]string{"save", "--output", archive}, images...)
	if out, err := exec.CommandContext(ctx, s.tools.docker, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("docker save %s: %v: %s", strings.Join(images, " "), err, strings.TrimSpace(string(out)))
	}
	return eachNode(s.Nodes, func(n *SwarmNode) error {
		_, err := n.run(ctx, "load", "--quiet", "--input", archive)
		return err
	})
}

// form initialises the swarm on the first manager, joins the other
// managers one by one (each is a Raft membership change) and the workers
// at once, records every node's ID and waits until all are ready.
func (s *Swarm) form(opts SwarmOptions) error {
	ctx, cancel := context.WithTimeout(context.Background(), swarmSetupTimeout)
	defer cancel()
	first := s.Nodes[0]
	init := []string{"swarm", "init", "--advertise-addr", first.Addr, "--listen-addr", first.Addr + ":" + swarmPort}
	if opts.Heartbeat > 0 {
		init = append(init, "--dispatcher-heartbeat", opts.Heartbeat.String())
	}
	if _, err := first.run(ctx, init...); err != nil {
		return err
	}
	tokens := map[bool]string{}
	for _, role := range []bool{true, false} {
		kind := map[bool]string{true: "manager", false: "worker"}[role]
		tok, err := first.run(ctx, "swarm", "join-token", "--quiet", kind)
		if err != nil {
			return err
		}
		tokens[role] = tok
	}
	join := func(n *SwarmNode) error {
		_, err := n.run(ctx, "swarm", "join", "--token", tokens[n.Manager],
			"--advertise-addr", n.Addr, "--listen-addr", n.Addr+":"+swarmPort, first.Addr+":"+swarmPort)
		return err
	}
	for _, n := range s.Managers()[1:] {
		if err := join(n); err != nil {
			return err
		}
	}
	if err := eachNode(s.Workers(), join); err != nil {
		return err
	}
	if err := eachNode(s.Nodes, func(n *SwarmNode) error {
		id, err := n.run(ctx, "info", "--format", "{{.Swarm.NodeID}}")
		n.ID = id
		if err == nil && id == "" {
			err = errors.New("no swarm node ID after joining")
		}
		return err
	}); err != nil {
		return err
	}
	return s.waitFormed(ctx)
}

// waitFormed waits until the first manager reports every node ready and
// every manager reachable.
func (s *Swarm) waitFormed(ctx context.Context) error {
	ids := make([]string, len(s.Nodes))
	for i, n := range s.Nodes {
		ids[i] = n.ID
	}
	var last string
	for {
		states, err := s.Nodes[0].nodeStates(ctx, ids...)
		if err == nil {
			var waiting []string
			for _, n := range s.Nodes {
				st := states[n.ID]
				if st.state != "ready" || (n.Manager && st.reachability != "reachable") {
					waiting = append(waiting, n.Name+"="+st.String())
				}
			}
			if len(waiting) == 0 {
				return nil
			}
			last = strings.Join(waiting, " ")
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("swarm not formed: %v; last seen: %s", ctx.Err(), last)
		case <-time.After(swarmPoll):
		}
	}
}

// eachNode runs f for every node at once and joins their errors.
func eachNode(nodes []*SwarmNode, f func(*SwarmNode) error) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			if err := f(n); err != nil {
				errs[i] = fmt.Errorf("%s: %w", n.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// runTool runs a host tool (ip, iptables) and returns its output in the
// error when it fails.
func runTool(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// netnsPath is where ip netns keeps a named namespace.
func netnsPath(name string) string { return filepath.Join(netnsDir, name) }

// netnsDir is where ip netns keeps named namespaces.
const netnsDir = "/var/run/netns"
