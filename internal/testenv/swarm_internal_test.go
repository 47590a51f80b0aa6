//go:build linux

package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestSwarmReapStale fakes what a test process killed by a go test
// timeout leaves (no dockerd needed): a directory with an unlocked lock,
// a namespace with a veth on a bridge, the iptables rule, stacked mounts
// and processes in the namespace naming the directory. reapStaleSwarms
// must remove all of it, and leave a swarm whose lock is held alone.
func TestSwarmReapStale(t *testing.T) {
	tools := requireSwarmTools(t)
	root := t.TempDir()
	// "cdsz…" never collides with a real prefix: pids in base 36 have at
	// most five digits and start with 0–2.
	pid := zeroPad(strconv.FormatInt(int64(os.Getpid()), 36), 5)
	stale, alive := "cdsz"+pid+"s", "cdsz"+pid+"a"
	for _, prefix := range []string{stale, alive} {
		t.Cleanup(func() { _, _, _ = destroySwarm(prefix, filepath.Join(root, prefix), tools, t.Logf) })
	}

	fakeSwarm(t, tools, root, stale)
	fakeSwarm(t, tools, root, alive)
	held, err := flockFile(filepath.Join(root, alive, "lock"), false)
	if err != nil {
		t.Fatal(err)
	}
	if left := swarmLeftovers(stale, filepath.Join(root, stale), tools); len(left) < 6 {
		t.Fatalf("fake swarm incomplete: %q", left)
	}

	reapStaleSwarms(root, tools, t.Logf)
	if left := swarmLeftovers(stale, filepath.Join(root, stale), tools); len(left) > 0 {
		t.Errorf("left after reaping: %q", left)
	}
	if _, err := os.Stat(filepath.Join(root, stale)); !os.IsNotExist(err) {
		t.Errorf("stale directory not removed (%v)", err)
	}
	if !slices.Contains(netnsNames(alive), alive+"m1") {
		t.Errorf("the swarm whose lock is held was reaped")
	}

	held.Close()
	reapStaleSwarms(root, tools, t.Logf)
	if left := swarmLeftovers(alive, filepath.Join(root, alive), tools); len(left) > 0 {
		t.Errorf("left after its owner released the lock and reaping again: %q", left)
	}
}

// fakeSwarm builds the leftovers of a one-node swarm named prefix.
func fakeSwarm(t *testing.T, tools swarmTools, root, prefix string) {
	t.Helper()
	dir := filepath.Join(root, prefix)
	data := filepath.Join(dir, "m1", "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bridge, node := prefix+"br", prefix+"m1"
	steps := [][]string{
		{tools.ip, "link", "add", bridge, "type", "bridge"},
		{tools.iptables, "-w", "-I", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"},
		{tools.ip, "netns", "add", node},
		{tools.ip, "link", "add", node, "type", "veth", "peer", "name", "eth0", "netns", node},
		{tools.ip, "link", "set", node, "master", bridge},
	}
	for _, argv := range steps {
		if err := runTool(argv[0], argv[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	for _, mp := range []string{data, filepath.Join(data, "inner")} {
		if err := os.MkdirAll(mp, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", mp, "tmpfs", 0, "size=1m"); err != nil {
			t.Fatalf("mount tmpfs on %s: %v", mp, err)
		}
	}
	// A shell naming the directory, in the namespace, with a child that
	// names nothing: both must go.
	cmd := exec.Command(tools.nsenter, "--net="+netnsPath(node), "--",
		"sh", "-c", "sleep 600 & wait", filepath.Join(dir, "m1", "fake"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait() // reaps the zombie once it is killed
}

// TestSwarmPartialSetupCleanup makes StartSwarm fail after its engine is
// up (an image the host does not have) and checks that the failed
// setup's cleanup leaves nothing of this process's swarms behind.
func TestSwarmPartialSetupCleanup(t *testing.T) {
	tools := requireSwarmTools(t)
	mine := swarmNamePrefix + zeroPad(strconv.FormatInt(int64(os.Getpid()), 36), 5)
	var r *recorder
	t.Run("start", func(t *testing.T) {
		r = run(t, func(tb testing.TB) {
			StartSwarm(tb, SwarmOptions{Images: []string{"certdock-no-such-image:absent"}})
		})
	})
	if r.failed == "" || r.skipped != "" {
		t.Fatalf("StartSwarm with a missing image: failed %q, skipped %q; want a failure", r.failed, r.skipped)
	}
	t.Logf("StartSwarm failed as expected: %.200s", r.failed)
	root := filepath.Join(os.TempDir(), swarmRootName)
	for _, prefix := range dirNames(root, mine) {
		if left := swarmLeftovers(prefix, filepath.Join(root, prefix), tools); len(left) > 0 {
			t.Errorf("swarm %s: left after the failed setup's cleanup: %q", prefix, left)
		}
		// Swarms of parallel tests in this process hold their lock.
		if lock, err := flockFile(filepath.Join(root, prefix, "lock"), false); err == nil {
			lock.Close()
			t.Errorf("directory of swarm %s left after the failed setup's cleanup", prefix)
		}
	}
}

// TestSwarmMissingToolsSkipOrFail hides nsenter and the other binaries:
// StartSwarm skips naming what is missing, and fails under CI=true.
func TestSwarmMissingToolsSkipOrFail(t *testing.T) {
	requireSwarmTools(t) // root and an engine, or this test says nothing
	hideBinaries(t)
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := run(t, func(tb testing.TB) { StartSwarm(tb, SwarmOptions{}) })
		msg, other := r.skipped, r.failed
		if ci == "true" {
			msg, other = r.failed, r.skipped
		}
		if other != "" || !strings.Contains(msg, "nsenter not found") || !strings.Contains(msg, "util-linux") {
			t.Errorf("CI=%q: StartSwarm without nsenter: skipped %q, failed %q", ci, r.skipped, r.failed)
		}
	}
}
