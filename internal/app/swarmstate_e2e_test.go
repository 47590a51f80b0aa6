package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/providers/dns/dnsupdate"

	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/internal/app"
	"github.com/certdock/certdock/internal/testenv"
)

// member is one certdock of TestSwarmStateTwoControllers: a daemon on the
// host, with its own directory, against one manager.
type member struct {
	name   string
	node   *testenv.SwarmNode
	dir    string
	logs   *testenv.LogBuffer
	app    *app.App
	cancel context.CancelFunc
	done   chan error
}

// count is how many log lines of m have msg and contain all of words.
func (m *member) count(msg string, words ...string) int {
	n := 0
	for _, line := range strings.Split(m.logs.String(), "\n") {
		if !strings.Contains(line, `"msg":"`+msg+`"`) {
			continue
		}
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(line, w)
		}
		if ok {
			n++
		}
	}
	return n
}

// TestSwarmStateTwoControllers: two certdocks on the host against two
// managers of a real 3-manager swarm, with CERTDOCK_STATE_KEY_FILE.
// Both see the same domains.conf line: it is issued once, by the lease
// holder, and the other's directory gets the same certificate from the
// swarm. The holder's dockerd is killed: the other takes over, orders
// nothing again, and issues the next line with the same account. No
// config holds private material in clear.
func TestSwarmStateTwoControllers(t *testing.T) {
	w := newWorld(t, "example.com")
	s := testenv.StartSwarm(t, testenv.SwarmOptions{Managers: 3, Heartbeat: 2 * time.Second})
	keyFile := filepath.Join(t.TempDir(), "state.key")
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i * 7)
	}
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var members []*member
	for i, n := range s.Managers()[:2] {
		m := &member{name: []string{"A", "B"}[i], node: n, dir: t.TempDir(), logs: &testenv.LogBuffer{}}
		env := map[string]string{}
		for k, v := range w.env {
			env[k] = v
		}
		env["CERTDOCK_DIR"] = m.dir
		env["DOCKER_CLUSTER_PROVIDER"] = "swarm"
		env["CERTDOCK_STATE_KEY_FILE"] = keyFile
		cfg, err := config.FromEnv(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if cfg.State != config.StateSwarm {
			t.Fatalf("state mode %q", cfg.State)
		}
		log := slog.New(slog.NewJSONHandler(m.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		dc, err := docker.New(docker.Options{Host: n.DockerHost(), LabelPrefix: "certdock", Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dc.Close() })
		m.app, err = app.Build(cfg, log, app.Options{Docker: dc, Provider: func(string) (challenge.Provider, error) {
			p, err := dnsupdate.NewDNSProvider()
			if err != nil {
				return nil, err
			}
			return p, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		m.cancel, m.done = cancel, make(chan error, 1)
		go func() { m.done <- m.app.Serve(ctx, false) }()
		t.Cleanup(func() {
			cancel()
			<-m.done
			if t.Failed() {
				t.Logf("certdock %s logs:\n%s", m.name, m.logs.String())
			}
		})
		members = append(members, m)
	}
	writeAll := func(content string) {
		for _, m := range members {
			if err := os.WriteFile(filepath.Join(m.dir, "domains.conf"), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	liveCert := func(m *member, name string) []byte {
		b, _ := os.ReadFile(filepath.Join(m.dir, "live", name, "fullchain.pem"))
		return b
	}
	total := func(msg string, words ...string) int {
		n := 0
		for _, m := range members {
			n += m.count(msg, words...)
		}
		return n
	}

	var holder, other *member
	eventually(t, 60*time.Second, "one certdock holds the lease", func() bool {
		for i, m := range members {
			if m.app.Active() {
				holder, other = m, members[1-i]
				return true
			}
		}
		return false
	})
	if other.app.Active() {
		t.Fatal("both certdocks are active")
	}
	t.Logf("%s (on %s) holds the lease", holder.name, holder.node.Name)

	// Line 1, seen by both: issued once, by the holder; the other's
	// directory gets the same files from the swarm.
	writeAll("one.example.com\n")
	eventually(t, 90*time.Second, "one.example.com issued", func() bool { return len(liveCert(holder, "one.example.com")) > 0 })
	eventually(t, 60*time.Second, "the follower's directory has one.example.com", func() bool {
		return bytes.Equal(liveCert(other, "one.example.com"), liveCert(holder, "one.example.com"))
	})
	if n := total("certificate issued"); n != 1 {
		t.Fatalf("%d issuances for one line seen by two certdocks, want 1", n)
	}
	if n := other.count("certificate issued"); n != 0 {
		t.Fatalf("the follower issued %d certificates", n)
	}

	// Private material in the swarm is ciphertext only.
	for _, c := range configsOf(t, holder.node) {
		if bytes.Contains(c, []byte("PRIVATE KEY")) {
			t.Fatal("a config holds a private key in clear")
		}
	}

	// The holder's dockerd dies: the other takes over.
	killed := time.Now()
	s.Kill(t, holder.node)
	eventually(t, 45*time.Second, "the other certdock takes over", func() bool { return other.app.Active() })
	t.Logf("%s took over %v after the holder's dockerd was killed", other.name, time.Since(killed).Round(time.Millisecond))
	select {
	case err := <-holder.done:
		if !errors.Is(err, app.ErrLeaseLost) {
			t.Fatalf("the old holder's daemon ended with %v, want ErrLeaseLost", err)
		}
		holder.done <- err // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("the old holder is still running after losing its manager")
	}

	// Line 2: the new holder issues it, and nothing else; no new account.
	writeAll("one.example.com\ntwo.example.com\n")
	eventually(t, 90*time.Second, "two.example.com issued by the new holder", func() bool { return len(liveCert(other, "two.example.com")) > 0 })
	time.Sleep(3 * time.Second)
	if n := other.count("certificate issued"); n != 1 {
		t.Fatalf("the new holder issued %d certificates, want 1 (two.example.com only)", n)
	}
	if n := total("registered ACME account"); n != 1 {
		t.Fatalf("%d ACME accounts registered, want 1", n)
	}

	// Neither the state key nor any private key (lineages, the account)
	// appears in either certdock's logs.
	secrets := []string{base64.StdEncoding.EncodeToString(key), hex.EncodeToString(key)}
	for _, m := range members {
		for _, kf := range keyFiles(t, m.dir) {
			secrets = append(secrets, keyFragments(t, kf.data)...)
		}
	}
	if len(secrets) < 4 {
		t.Fatalf("only %d secrets to look for: no key files found", len(secrets))
	}
	for _, m := range members {
		logs := m.logs.String()
		for _, sec := range secrets {
			if strings.Contains(logs, sec) {
				t.Fatalf("certdock %s logged secret material", m.name)
			}
		}
	}
	// Read back through the API, the swarm's configs hold the private
	// keys (and the state key) as ciphertext only.
	for _, data := range configsOf(t, other.node) {
		for _, sec := range secrets {
			if bytes.Contains(data, []byte(sec)) {
				t.Fatal("a config holds private material in clear")
			}
		}
	}
}

// configsOf returns the data of every config of the swarm.
func configsOf(t *testing.T, n *testenv.SwarmNode) [][]byte {
	t.Helper()
	dc, err := docker.New(docker.Options{Host: n.DockerHost()})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	cfgs, err := dc.Configs(context.Background(), "certdock.state")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) == 0 {
		t.Fatal("no state configs in the swarm")
	}
	var out [][]byte
	for _, c := range cfgs {
		out = append(out, c.Data)
	}
	return out
}
