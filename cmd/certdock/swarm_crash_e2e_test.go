package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certdock/certdock/clusterstate"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/internal/testenv"
	"github.com/certdock/certdock/store"
)

// daemon is one `certdock run` child with swarm state, its log captured.
type daemon struct {
	cmd  *exec.Cmd
	dir  string
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
}

func startDaemon(t *testing.T, env []string, dir string) *daemon {
	t.Helper()
	d := &daemon{dir: dir, done: make(chan struct{})}
	d.cmd = exec.Command(os.Args[0], "run")
	d.cmd.Env = append(append([]string{}, env...), "CERTDOCK_DIR="+dir)
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(d.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			d.mu.Lock()
			d.logs.Write(sc.Bytes())
			d.logs.WriteByte('\n')
			d.mu.Unlock()
		}
	}()
	t.Cleanup(func() { d.kill() })
	return d
}

// waitLog waits until a log line has msg and every one of words, and
// reports whether one came within timeout.
func (d *daemon) waitLog(timeout time.Duration, msg string, words ...string) bool {
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(d.log(), "\n") {
			ok := strings.Contains(line, `"msg":"`+msg+`"`)
			for _, w := range words {
				ok = ok && strings.Contains(line, w)
			}
			if ok {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *daemon) kill() {
	if d.cmd.ProcessState == nil {
		d.cmd.Process.Kill()
		<-d.done
		d.cmd.Wait()
	}
}

func (d *daemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logs.String()
}

// issued lists the certificates the daemon logged as issued.
func (d *daemon) issued() []string {
	var out []string
	for _, line := range strings.Split(d.log(), "\n") {
		if strings.Contains(line, `"msg":"certificate issued"`) {
			if i := strings.Index(line, `"cert":"`); i >= 0 {
				rest := line[i+len(`"cert":"`):]
				out = append(out, rest[:strings.Index(rest, `"`)])
			}
		}
	}
	return out
}

// TestSwarmCrashConsistency: certdock with its state in a real swarm is
// SIGKILLed at a random point while it issues a new line; another certdock
// with an empty directory (a task rescheduled on another node) then takes
// over. Every time, the swarm's state opens, versions never go back, the
// new certdock rebuilds every lineage the swarm holds without ordering it
// again, finishes the interrupted one, and every lineage is complete with
// its key. CERTDOCK_SWARM_CRASH_CYCLES sets the number of kills (default
// 4; each waits for the killed holder's lease to expire, ~15 s).
func TestSwarmCrashConsistency(t *testing.T) {
	cycles := 4
	if v := os.Getenv("CERTDOCK_SWARM_CRASH_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CERTDOCK_SWARM_CRASH_CYCLES=%q", v)
		}
		cycles = n
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	bind := testenv.StartBind(t, "example.com")
	pebble := testenv.StartPebble(t, bind.Addr, nil)
	s := testenv.StartSwarm(t, testenv.SwarmOptions{Managers: 1})
	m := s.Manager(t)
	key := bytes.Repeat([]byte{0x5c}, 32)
	keyFile := filepath.Join(t.TempDir(), "state.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		childEnv + "=1",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"ACME_DIRECTORY_URL=" + pebble.DirectoryURL,
		"ACME_CA_CERTIFICATES=" + pebble.TLSCAFile,
		"DNS_PROVIDER=rfc2136",
		"DNS_RESOLVERS=" + bind.Addr,
		"CERTDOCK_LOG_FORMAT=json",
		"DOCKER_HOST=" + m.DockerHost(),
		"DOCKER_CLUSTER_PROVIDER=swarm",
		"CERTDOCK_STATE_KEY_FILE=" + keyFile,
		"CERTDOCK_LABEL_PREFIX=cdcrash" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10),
	}
	for k, v := range bind.Env() {
		env = append(env, k+"="+v)
	}
	dc, err := docker.New(docker.Options{Host: m.DockerHost()})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	k, err := clusterstate.NewKey(key)
	if err != nil {
		t.Fatal(err)
	}
	vault := clusterstate.NewVault(dc, k, nil)
	swarmVersions := func() map[string]int {
		t.Helper()
		snap, err := vault.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// Opening every record is part of the check.
		if _, err := vault.Pull(context.Background(), snap, store.New(t.TempDir(), store.Options{})); err != nil {
			t.Fatalf("the swarm's state does not open after a kill: %v", err)
		}
		return snap.Latest()
	}

	line := func(i int) string { return fmt.Sprintf("l%d.example.com", i) }
	domains := func(n int) string {
		var b strings.Builder
		for i := 0; i <= n; i++ {
			b.WriteString(line(i) + "\n")
		}
		return b.String()
	}
	dir := t.TempDir()
	writeDomains(t, dir, domains(0))
	d := startDaemon(t, env, dir)
	if !d.waitLog(2*time.Minute, "certificate issued", line(0)) {
		t.Fatalf("the first daemon issued nothing:\n%s", d.log())
	}
	prev := map[string]int{}
	var takeovers []time.Duration
	published, reissued := 0, 0 // the interrupted line: in the swarm at the kill, or issued by the next
	for i := 1; i <= cycles; i++ {
		// A new line: the daemon starts issuing it and is killed at a
		// random point of the order, the DNS update, the validation,
		// the files, or the publication.
		writeDomains(t, dir, domains(i))
		if !d.waitLog(30*time.Second, "issuing certificate", line(i)) {
			t.Fatalf("cycle %d: the daemon did not start issuing %s:\n%s", i, line(i), d.log())
		}
		time.Sleep(time.Duration(rng.IntN(600)) * time.Millisecond)
		d.kill()
		killed := time.Now()
		before := swarmVersions()
		for name, v := range prev {
			if before[name] < v {
				t.Fatalf("cycle %d: %s went back from version %d to %d in the swarm", i, name, v, before[name])
			}
		}

		// Another certdock, empty directory, same domains.conf.
		dir = t.TempDir()
		writeDomains(t, dir, domains(i))
		next := startDaemon(t, env, dir)
		if !next.waitLog(60*time.Second, "holding the swarm lease: this certdock is the active one") {
			t.Fatalf("cycle %d: the new certdock never took the lease:\n%s", i, next.log())
		}
		takeovers = append(takeovers, time.Since(killed).Round(100*time.Millisecond))
		st := store.New(dir, store.Options{})
		deadline := time.Now().Add(2 * time.Minute)
		for {
			complete := true
			for j := 0; j <= i; j++ {
				if _, err := st.Load(line(j)); err != nil {
					complete = false
				}
			}
			if complete {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cycle %d: the new certdock did not bring every lineage:\n%s", i, next.log())
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(time.Second)
		// Nothing the swarm held was ordered again; its versions were
		// kept and numbered on.
		for _, name := range next.issued() {
			if before[name] > 0 {
				t.Fatalf("cycle %d: %s (version %d in the swarm) was issued again", i, name, before[name])
			}
		}
		for name, v := range before {
			l, err := st.Load(name)
			if err != nil || l.Version < v {
				t.Fatalf("cycle %d: %s in the new directory: %v, %v (version %d in the swarm)", i, name, l, err, v)
			}
		}
		if before[line(i)] > 0 {
			published++
		} else {
			reissued++
		}
		prev, d = before, next
	}
	t.Logf("swarm crash harness: %d kills (the interrupted certificate was in the swarm %d times, issued by the next certdock %d times); takeovers after %v",
		cycles, published, reissued, takeovers)
}
