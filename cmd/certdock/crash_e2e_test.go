package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
	"github.com/certdock/certdock/store"
)

// childEnv makes the test binary behave as certdock itself (see
// TestMain), so the crash harness kills the real `certdock run`.
const childEnv = "CERTDOCK_TEST_AS_CERTDOCK"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// crashLines is the domains.conf of the crash harness: a plain name, a SAN
// pair and a wildcard with its apex.
const crashLines = "a.example.com\nb.example.com www.b.example.com\n*.c.example.com c.example.com\n"

var crashNames = []string{"a.example.com", "b.example.com", "c.example.com"}

// TestCrashConsistency kills `certdock run` with SIGKILL at random points
// while it renews (Pebble's 10 s profile: a certificate is due after half
// its lifetime, so the daemon renews all the time), then restarts it with
// `run --once` and checks that every lineage is complete, its key matches
// its certificate, no lineage or version was lost, the state file reads,
// and the restarted run finished the work. CERTDOCK_CRASH_CYCLES sets the
// number of kills (default 100); CERTDOCK_CRASH_SEED replays a sequence.
func TestCrashConsistency(t *testing.T) {
	cycles := 100
	if v := os.Getenv("CERTDOCK_CRASH_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CERTDOCK_CRASH_CYCLES=%q", v)
		}
		cycles = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CERTDOCK_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("CERTDOCK_CRASH_SEED=%q", v)
		}
	}
	t.Logf("CERTDOCK_CRASH_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	bind := testenv.StartBind(t, "example.com")
	pebble := testenv.StartPebble(t, bind.Addr, &testenv.PebbleOptions{
		Profiles: map[string]testenv.PebbleProfile{"short": {Validity: 10 * time.Second}},
	})
	dir := t.TempDir()
	writeDomains(t, dir, crashLines)
	env := []string{
		childEnv + "=1",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"CERTDOCK_DIR=" + dir,
		"ACME_DIRECTORY_URL=" + pebble.DirectoryURL,
		"ACME_CA_CERTIFICATES=" + pebble.TLSCAFile,
		"ACME_PROFILE=short",
		"DNS_PROVIDER=rfc2136",
		"DNS_RESOLVERS=" + bind.Addr,
		"CERTDOCK_LOG_FORMAT=json",
		// No Docker: this harness is about the store and the state file,
		// and must not see other tests' labelled containers.
		"DOCKER_HOST=unix://" + filepath.Join(dir, "no-docker.sock"),
	}
	for k, v := range bind.Env() {
		env = append(env, k+"="+v)
	}
	st := store.New(dir, store.Options{})

	// First issuance, uninterrupted.
	if out, err := runChild(env, 2*time.Minute, "run", "--once"); err != nil {
		t.Fatalf("first run --once: %v\n%s", err, out)
	}
	last := checkLineages(t, st, nil, time.Time{}, "after the first run")

	var kills, inFlight, brokenAfterKill, versions int
	var lastOnce string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the last run --once printed:\n%s", lastOnce)
		}
	})
	for i := range cycles {
		// The daemon, killed at a random point of its work.
		// Kills are aimed at the work: a random delay after the first
		// "issuing certificate" line covers the order, the DNS update,
		// the validation, the files being written and the links moving.
		cmd := exec.Command(os.Args[0], "run")
		cmd.Env = env
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		started, copied := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(copied)
			sc := bufio.NewScanner(stderr)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			signalled := false
			for sc.Scan() {
				logs.Write(sc.Bytes())
				logs.WriteByte('\n')
				if !signalled && bytes.Contains(sc.Bytes(), []byte(`"msg":"issuing certificate"`)) {
					close(started)
					signalled = true
				}
			}
		}()
		select {
		case <-started:
		case <-time.After(6 * time.Second):
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-copied
		cmd.Wait()
		kills++
		if issuing(logs.Bytes()) {
			inFlight++
		}
		// What the kill left, before any repair: a lineage may be caught
		// between two versions (live links half moved).
		for _, n := range crashNames {
			if _, err := st.Load(n); err != nil {
				brokenAfterKill++
			}
		}
		// The restart repairs and finishes the interrupted work.
		onceStart := time.Now()
		out, err := runChild(env, 2*time.Minute, "run", "--once")
		if err != nil {
			t.Fatalf("cycle %d: run --once after the kill: %v\n%s\n--- the killed run's log:\n%s", i, err, out, logs.String())
		}
		lastOnce = out
		now := checkLineages(t, st, last, onceStart, fmt.Sprintf("cycle %d", i))
		for n, v := range now {
			versions += v - last[n]
		}
		last = now
	}
	t.Logf("crash harness: %d SIGKILLs (%d during an issuance), %d lineages found between versions right after a kill and repaired, %d new versions written and verified; final versions %v",
		kills, inFlight, brokenAfterKill, versions, last)
	if versions < cycles {
		t.Errorf("only %d versions were written over %d cycles: the harness did not exercise renewals", versions, cycles)
	}
}

// runChild runs certdock (this test binary as certdock) to completion.
func runChild(env []string, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// checkLineages loads every lineage (which verifies that the four live
// files are there, point at one version, parse, and that the key matches
// the certificate), checks that no version went backwards since prev and
// that the live version's archive files exist, that the state file reads
// and records the lineages as owned, that no certificate had expired when
// the run that should have renewed it started (since), and returns the
// versions. (With lifetimes of seconds, a certificate that was not due
// when the run looked at it may expire before the run ends.)
func checkLineages(t *testing.T, st *store.Dir, prev map[string]int, since time.Time, when string) map[string]int {
	t.Helper()
	versions := map[string]int{}
	for _, n := range crashNames {
		l, err := st.Load(n)
		if err != nil {
			t.Fatalf("%s: lineage %s: %v", when, n, err)
		}
		if l.Version < prev[n] {
			t.Fatalf("%s: lineage %s went back from version %d to %d", when, n, prev[n], l.Version)
		}
		if !l.NotAfter.After(since) {
			t.Fatalf("%s: lineage %s is expired: the interrupted work was not finished", when, n)
		}
		for _, kind := range []string{"cert", "chain", "fullchain", "privkey"} {
			p := filepath.Join(st.Root(), "archive", n, kind+strconv.Itoa(l.Version)+".pem")
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s: %v", when, err)
			}
		}
		versions[n] = l.Version
	}
	state, err := st.LoadState()
	if err != nil {
		t.Fatalf("%s: state file: %v", when, err)
	}
	for _, n := range crashNames {
		if ls := state.Lineages[n]; ls == nil || !ls.Owned {
			t.Fatalf("%s: state does not record %s as owned: %+v", when, n, ls)
		}
	}
	return versions
}

// issuing reports whether a JSON log shows an issuance started and not
// finished, i.e. the kill interrupted one.
func issuing(logs []byte) bool {
	open := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct{ Msg, Cert string }
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		switch {
		case rec.Msg == "issuing certificate":
			open[rec.Cert]++
		case rec.Msg == "certificate issued", strings.HasPrefix(rec.Msg, "certificate failed"):
			open[rec.Cert]--
		}
	}
	for _, n := range open {
		if n > 0 {
			return true
		}
	}
	return false
}
