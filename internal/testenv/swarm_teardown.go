package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// workloadRemoveTimeout bounds removing services through one manager,
	// or containers through one engine, at teardown.
	workloadRemoveTimeout = 10 * time.Second
	// procExitWait is how long killed processes may take to disappear.
	procExitWait = 10 * time.Second
)

// teardown is Close's work: the engines remove what they run and stop,
// then destroySwarm removes everything by name. Only what is left counts
// as an error; trouble on the way is logged.
func (s *Swarm) teardown() error {
	if s.prefix == "" {
		return nil // nothing was claimed
	}
	start := time.Now()
	s.removeWorkloads()
	if err := s.stopDaemons(); err != nil {
		s.logf("testenv: swarm %s: stopping dockerd: %v", s.prefix, err)
	}
	killed, detached, err := destroySwarm(s.prefix, s.Dir, s.tools, s.logf)
	s.lock.Close() // a swarm not removed completely is the next reaper's
	s.logf("testenv: swarm %s torn down in %v (%d processes outlived their dockerd and were killed, %d mounts detached)",
		s.prefix, time.Since(start).Round(time.Millisecond), killed, detached)
	return err
}

// stopDaemons stops every node's dockerd at once (each waits for its
// containers) and waits until all have exited.
func (s *Swarm) stopDaemons() error {
	s.mu.Lock()
	daemons := make([]*swarmDaemon, 0, len(s.Nodes))
	for _, n := range s.Nodes {
		if n.daemon != nil {
			daemons = append(daemons, n.daemon)
		}
	}
	s.mu.Unlock()
	errs := make([]error, len(daemons))
	var wg sync.WaitGroup
	for i, d := range daemons {
		wg.Go(func() { errs[i] = d.stop() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// removeWorkloads removes every service (through a manager, one that is
// not cut off first) and then every container (through each engine), so
// that no engine waits for containers when it stops and no orchestrator
// starts new ones. It is best effort: a killed engine does not answer, a
// cut-off manager may have no leader, and destroySwarm kills what is
// left.
func (s *Swarm) removeWorkloads() {
	var alive, connected, cut []*SwarmNode
	s.mu.Lock()
	for _, n := range s.Nodes {
		switch {
		case n.daemon == nil || n.daemon.exited():
		case !n.Manager || n.ID == "":
			alive = append(alive, n)
		case n.cut:
			alive, cut = append(alive, n), append(cut, n)
		default:
			alive, connected = append(alive, n), append(connected, n)
		}
	}
	s.mu.Unlock()
	for _, m := range append(connected, cut...) {
		ctx, cancel := context.WithTimeout(context.Background(), workloadRemoveTimeout)
		ids, err := m.run(ctx, "service", "ls", "--quiet")
		if err == nil && ids != "" {
			_, err = m.run(ctx, append([]string{"service", "rm"}, strings.Fields(ids)...)...)
		}
		cancel()
		if err == nil {
			break
		}
	}
	_ = eachNode(alive, func(n *SwarmNode) error {
		ctx, cancel := context.WithTimeout(context.Background(), workloadRemoveTimeout)
		defer cancel()
		ids, err := n.run(ctx, "ps", "--all", "--quiet")
		if err == nil && ids != "" {
			_, err = n.run(ctx, append([]string{"rm", "--force", "--volumes"}, strings.Fields(ids)...)...)
		}
		return err
	})
}

// destroySwarm removes everything of the swarm named prefix with
// directory dir, knowing nothing but those names, in the order that
// works: kill every process that names dir on its command line
// (dockerd, containerd, containerd-shim whose -address lies under the
// exec root, fuse-overlayfs) or lives in one of the swarm's network
// namespaces, and all their descendants (shims outlive dockerd and keep
// the node's namespaces, and so the veths, alive); lazily unmount
// everything under dir (data roots, netns mounts such as ingress_sbox
// under the exec roots); delete the veths, namespaces, bridge and
// iptables rule; remove dir. It is idempotent, and it returns an error
// naming whatever is still there afterwards.
func destroySwarm(prefix, dir string, tools swarmTools, logf func(string, ...any)) (killed, detached int, err error) {
	var errs []error
	killed, err = killSwarmProcesses(prefix, dir)
	if err != nil {
		errs = append(errs, err)
	}
	detached, err = unmountUnder(dir)
	if err != nil {
		errs = append(errs, err)
	}
	bridge := prefix + "br"
	for _, link := range linkNames(prefix) {
		if link != bridge {
			if err := runTool(tools.ip, "link", "del", link); err != nil && slices.Contains(linkNames(prefix), link) {
				errs = append(errs, err)
			}
		}
	}
	for _, ns := range netnsNames(prefix) {
		if err := runTool(tools.ip, "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if slices.Contains(linkNames(prefix), bridge) {
		if err := runTool(tools.ip, "link", "del", bridge); err != nil {
			errs = append(errs, err)
		}
	}
	for range 10 {
		if !forwardRuleExists(tools.iptables, bridge) {
			break
		}
		if err := runTool(tools.iptables, append([]string{"-w"}, forwardRule("-D", bridge)...)...); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if len(errs) > 0 && logf != nil {
		logf("testenv: swarm %s teardown: %v", prefix, errors.Join(errs...))
	}
	if left := swarmLeftovers(prefix, dir, tools); len(left) > 0 {
		return killed, detached, fmt.Errorf("swarm %s not removed completely (%s is kept for the next StartSwarm to retry): %s",
			prefix, dir, strings.Join(left, "; "))
	}
	return killed, detached, os.RemoveAll(dir)
}

// forwardRuleExists reports whether the bridge's FORWARD rule is in place
// (iptables -C fails both when it is not and when iptables fails).
func forwardRuleExists(iptables, bridge string) bool {
	return exec.Command(iptables, append([]string{"-w"}, forwardRule("-C", bridge)...)...).Run() == nil
}

// swarmLeftovers describes what of the swarm named prefix still exists,
// dir itself excepted.
func swarmLeftovers(prefix, dir string, tools swarmTools) []string {
	var left []string
	for _, p := range swarmProcesses(prefix, dir) {
		left = append(left, fmt.Sprintf("process %d (%s)", p.pid, p.cmdline))
	}
	mounts, err := mountsUnder(dir)
	if err != nil {
		left = append(left, err.Error())
	}
	for _, m := range mounts {
		left = append(left, "mount "+m)
	}
	for _, ns := range netnsNames(prefix) {
		left = append(left, "network namespace "+ns)
	}
	for _, l := range linkNames(prefix) {
		left = append(left, "interface "+l)
	}
	if forwardRuleExists(tools.iptables, prefix+"br") {
		left = append(left, "iptables rule "+strings.Join(forwardRule("-A", prefix+"br"), " "))
	}
	return left
}

// reapStaleSwarms destroys the swarms under root whose owner is gone: the
// owner holds its directory's lock while the swarm lives, and the kernel
// releases it when the process dies, even by SIGKILL or a go test
// timeout that skips the cleanups. The caller holds root's lock.
func reapStaleSwarms(root string, tools swarmTools, logf func(string, ...any)) {
	for _, prefix := range dirNames(root, swarmNamePrefix) {
		dir := filepath.Join(root, prefix)
		lock, err := flockFile(filepath.Join(dir, "lock"), false)
		if err != nil {
			continue // alive, or not ours to judge
		}
		_, _, err = destroySwarm(prefix, dir, tools, nil)
		lock.Close()
		if err != nil {
			logf("testenv: removing swarm %s left by a dead test process: %v", prefix, err)
		} else {
			logf("testenv: removed swarm %s left by a dead test process", prefix)
		}
	}
}

// procInfo is a process as /proc shows it.
type procInfo struct {
	pid, ppid int
	zombie    bool
	cmdline   string // arguments joined by spaces
	netns     fileID // the process's network namespace
}

// listProcs reads every process from /proc; processes that end while
// being read are left out.
func listProcs() []procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var procs []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		base := filepath.Join("/proc", e.Name())
		stat, err := os.ReadFile(filepath.Join(base, "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid …"; comm may hold spaces and parentheses.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		cmdline, _ := os.ReadFile(filepath.Join(base, "cmdline"))
		ns, _ := statID(filepath.Join(base, "ns", "net"))
		procs = append(procs, procInfo{
			pid:     pid,
			ppid:    ppid,
			zombie:  f[0] == "Z" || f[0] == "X",
			cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")),
			netns:   ns,
		})
	}
	return procs
}

// swarmProcesses returns the live processes of a swarm: those naming dir
// on their command line or living in one of its network namespaces, and
// their descendants. This process is never one of them.
func swarmProcesses(prefix, dir string) []procInfo {
	namespaces := map[fileID]bool{}
	for _, ns := range netnsNames(prefix) {
		if id, ok := statID(netnsPath(ns)); ok {
			namespaces[id] = true
		}
	}
	procs := listProcs()
	children := map[int][]procInfo{}
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p)
	}
	marked := map[int]bool{}
	var found []procInfo
	var mark func(p procInfo)
	mark = func(p procInfo) {
		if marked[p.pid] || p.pid == os.Getpid() {
			return
		}
		marked[p.pid] = true
		if !p.zombie {
			found = append(found, p)
		}
		for _, c := range children[p.pid] {
			mark(c)
		}
	}
	for _, p := range procs {
		if strings.Contains(p.cmdline, dir+"/") || namespaces[p.netns] {
			mark(p)
		}
	}
	return found
}

// killSwarmProcesses SIGKILLs the swarm's processes until none is left or
// procExitWait passes, and returns how many it found.
func killSwarmProcesses(prefix, dir string) (int, error) {
	deadline := time.Now().Add(procExitWait)
	seen := map[int]bool{}
	for {
		procs := swarmProcesses(prefix, dir)
		if len(procs) == 0 {
			return len(seen), nil
		}
		if time.Now().After(deadline) {
			var names []string
			for _, p := range procs {
				names = append(names, fmt.Sprintf("%d (%s)", p.pid, p.cmdline))
			}
			return len(seen), fmt.Errorf("processes survive SIGKILL: %s", strings.Join(names, "; "))
		}
		for _, p := range procs {
			seen[p.pid] = true
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mountsUnder returns the mount points at or under dir, in the order of
// /proc/self/mountinfo (parents before the mounts on top of them).
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mounts = append(mounts, mp)
		}
	}
	return mounts, sc.Err()
}

// unescapeMountinfo decodes the octal escapes (\040 for a space …) of a
// path in /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountUnder lazily unmounts everything at or under dir, the newest
// mounts first, until nothing is left, and returns how many unmounts
// succeeded.
func unmountUnder(dir string) (int, error) {
	detached := 0
	for range 10 {
		mounts, err := mountsUnder(dir)
		if err != nil || len(mounts) == 0 {
			return detached, err
		}
		for _, mp := range slices.Backward(mounts) {
			if detachMount(mp) == nil {
				detached++
			}
		}
	}
	return detached, fmt.Errorf("still mounted under %s after 10 rounds of lazy unmounts", dir)
}
