package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
)

// TestLabelsActOnlyOnTheirWorkload checks the label policy on the real
// engine: a label acts on the workload that carries it and on no other,
// even when it names another container (as its lineage name); a workload
// asking for a name outside CERTDOCK_ALLOWED_DOMAINS gets nothing, not even
// the names that are allowed; labels of another prefix are ignored; and a
// certdock.exec command full of shell syntax runs without a shell, every
// word reaching the program literally.
func TestLabelsActOnlyOnTheirWorkload(t *testing.T) {
	testenv.RequireDocker(t)
	w := newWorld(t, "example.com")
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
	actor, subscriber, bystander, mixed, foreign := "cd-actor-"+suffix, "cd-sub-"+suffix, "cd-by-"+suffix, "cd-mixed-"+suffix, "cd-foreign-"+suffix

	// Each word holds shell syntax that a shell would expand, chain,
	// pipe or redirect; run as argv, touch creates files with these
	// very names.
	literal := []string{"/tmp/m1$(echo)X", "/tmp/m2`echo`X", "/tmp/m3;X", "/tmp/m4&&X", "/tmp/m5|X", "/tmp/m6$HOME", "/tmp/m7*", "/tmp/m8>X"}
	// What a shell would have created instead.
	shelled := []string{"/tmp/m1X", "/tmp/m2X", "/tmp/m3", "/tmp/m4", "/tmp/m5", "/tmp/m8"}

	// The actor's lineage is named after the bystander: a name is not a
	// target.
	runContainer(t, actor, map[string]string{
		"certdock.domains": "policy.example.com",
		"certdock.name":    bystander,
		"certdock.exec":    "touch " + strings.Join(literal, " "),
	}, idleScript)
	runContainer(t, subscriber, map[string]string{"certdock.cert": bystander, "certdock.restart": "true"}, idleScript)
	runContainer(t, bystander, nil, idleScript)
	runContainer(t, mixed, map[string]string{"certdock.domains": "mixed.example.com,www.example.org", "certdock.restart": "true"}, idleScript)
	runContainer(t, foreign, map[string]string{"other.domains": "foreign.example.com", "other.restart": "true"}, idleScript)
	started := map[string]string{}
	for _, c := range []string{actor, subscriber, bystander, mixed, foreign} {
		started[c] = dockerCLI(t, "inspect", "-f", "{{.State.StartedAt}}", c)
	}
	w.env["CERTDOCK_ALLOWED_DOMAINS"] = "*.example.com"
	w.writeDomains(t, "")
	a := w.startDaemon(t, "")

	eventually(t, 30*time.Second, "the actor's exec", func() bool { return existsInContainer(actor, literal[0]) })
	eventually(t, 30*time.Second, "the subscriber's restart", func() bool {
		s, _ := tryDocker("inspect", "-f", "{{.State.StartedAt}}", subscriber)
		return s != started[subscriber]
	})
	if l, err := a.Store.Load(bystander); err != nil || len(l.Leaf.DNSNames) != 1 || l.Leaf.DNSNames[0] != "policy.example.com" {
		t.Fatalf("lineage %s: %v, want a certificate for policy.example.com", bystander, err)
	}

	t.Run("exec runs without a shell", func(t *testing.T) {
		for _, p := range literal {
			if !existsInContainer(actor, p) {
				t.Errorf("%q was not created: the word did not reach touch as is", p)
			}
		}
		for _, p := range shelled {
			if existsInContainer(actor, p) {
				t.Errorf("%s exists: the command went through a shell", p)
			}
		}
	})

	t.Run("only labelled workloads are acted on", func(t *testing.T) {
		// The actor ran its command and was not restarted; the
		// others were left alone.
		for _, c := range []string{actor, bystander, mixed, foreign} {
			if s, _ := tryDocker("inspect", "-f", "{{.State.StartedAt}}", c); s != started[c] {
				t.Errorf("%s was restarted", c)
			}
		}
		for _, c := range []string{subscriber, bystander, mixed, foreign} {
			for _, p := range literal[:1] {
				if existsInContainer(c, p) {
					t.Errorf("the actor's command ran in %s", c)
				}
			}
		}
		logs := w.logs.String()
		for _, c := range []string{actor, subscriber} {
			if !strings.Contains(logs, `"target":"`+c+`"`) {
				t.Errorf("no action on %s logged", c)
			}
		}
		for _, c := range []string{bystander, mixed, foreign} {
			if strings.Contains(logs, `"target":"`+c+`"`) {
				t.Errorf("an action on %s was logged", c)
			}
		}
	})

	t.Run("a name outside CERTDOCK_ALLOWED_DOMAINS refuses the whole workload", func(t *testing.T) {
		if !strings.Contains(w.logs.String(), "container "+mixed+": label certdock.domains: www.example.org is not allowed by CERTDOCK_ALLOWED_DOMAINS") {
			t.Error("refusal not reported naming the container, the label and the name")
		}
		for _, name := range []string{"mixed.example.com", "www.example.org", "foreign.example.com"} {
			if _, err := a.Store.Load(name); err == nil {
				t.Errorf("%s was issued", name)
			}
		}
	})
}
