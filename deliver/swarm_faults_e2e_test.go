package deliver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certdock/certdock/controller"
)

// TestSwarmSecretsFaults: services created before certdock starts are
// served at its first pass; a bad delivery label and certdock.secrets on
// a plain container are reported by name and skip only that delivery; an
// update Swarm rolls back is a failure in status, metrics and the failure
// hook; a rotation while a worker is cut off converges once it is back.
func TestSwarmSecretsFaults(t *testing.T) {
	hookLog := filepath.Join(t.TempDir(), "failures.log")
	e := newE2E(t, map[string]string{
		"CERTDOCK_ON_FAILURE": "/bin/sh -c 'echo \\\"$CERTDOCK_CERT: $CERTDOCK_ERROR\\\" >> " + hookLog + "'",
	})
	w1 := e.swarm.Workers()[0]

	// Before certdock starts: a service pinned to worker 1; one whose task
	// exits as soon as it has the files, so Swarm rolls its update back;
	// one with a bad uid label; a plain container asking for secrets.
	e.manager(t, "service", "create", "--detach", "--name", "pinned", "--constraint", "node.id=="+w1.ID,
		"--label", "certdock.domains=pinned.example.com", "--label", "certdock.secrets=true",
		e.image, "sleep", "3600")
	e.manager(t, "service", "create", "--detach", "--name", "fragile", "--constraint", "node.role==worker",
		"--update-failure-action", "rollback", "--update-monitor", "3s",
		"--label", "certdock.domains=fragile.example.com", "--label", "certdock.secrets=true",
		e.image, "sh", "-c", "if [ -e /run/secrets/fragile.example.com/cert.pem ]; then exit 1; fi; exec sleep 3600")
	e.manager(t, "service", "create", "--detach", "--name", "baduid", "--constraint", "node.role==worker",
		"--label", "certdock.domains=baduid.example.com", "--label", "certdock.secrets=true",
		"--label", "certdock.secrets.uid=root", e.image, "sleep", "3600")
	e.manager(t, "run", "--detach", "--name", "plain", "--label", "certdock.domains=plain.example.com",
		"--label", "certdock.secrets=true", e.image, "sleep", "3600")
	e.start(t)

	eventually(t, 90*time.Second, "all four certificates issued", func() bool {
		return e.version("pinned.example.com") == 1 && e.version("fragile.example.com") == 1 &&
			e.version("baduid.example.com") == 1 && e.version("plain.example.com") == 1
	})
	waitTaskFiles(t, w1, "pinned", "/run/secrets/pinned.example.com", e.liveFiles(t, "pinned.example.com"), 90*time.Second)

	// The bad label and the container: named in the logs, nothing of
	// certdock's mounted, the certificates still issued (above).
	eventually(t, 30*time.Second, "the bad uid label reported with its service", func() bool {
		l := e.logs.String()
		return strings.Contains(l, "baduid") && strings.Contains(l, "certdock.secrets.uid") &&
			strings.Contains(l, "plain") && strings.Contains(l, "can only be delivered to a Swarm service")
	})
	if got := e.manager(t, "service", "inspect", "-f", "{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}", "baduid"); strings.Contains(got, "certdock.") {
		t.Errorf("baduid got certdock's secrets despite its bad label: %s", got)
	}

	// The rolled-back update: a failure with Swarm's message, in status,
	// metrics and the failure hook (once).
	var rec controller.DeliveryRecord
	eventually(t, 120*time.Second, "fragile's rolled-back update recorded as failing", func() bool {
		certs, _ := e.app.Controller.Status(context.Background())
		for _, cs := range certs {
			if cs.Name == "fragile.example.com" && len(cs.Record.Deliveries) == 1 {
				rec = cs.Record.Deliveries[0]
				return strings.Contains(rec.Error, "rollback")
			}
		}
		return false
	})
	t.Logf("fragile: %+v", rec)
	var metrics bytes.Buffer
	if _, err := e.app.Metrics.WriteTo(&metrics); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`certdock_delivery_failing{name="fragile.example.com",service="fragile"} 1`,
		`certdock_delivery_failing{name="pinned.example.com",service="pinned"} 0`,
		`certdock_delivery_version{name="pinned.example.com",service="pinned"} 1`,
	} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	eventually(t, 30*time.Second, "the failure hook ran for fragile", func() bool {
		b, _ := os.ReadFile(hookLog)
		return strings.Contains(string(b), "fragile.example.com: deliver to service fragile") && strings.Contains(string(b), "rollback")
	})
	if b, _ := os.ReadFile(hookLog); strings.Count(string(b), "fragile.example.com") != 1 {
		t.Errorf("failure hook ran %d times for one streak:\n%s", strings.Count(string(b), "fragile.example.com"), b)
	}
	eventually(t, 60*time.Second, "fragile's rollback completes", func() bool {
		return e.manager(t, "service", "inspect", "-f", "{{.UpdateStatus.State}}", "fragile") == "rollback_completed"
	})

	// A rotation while worker 1 is cut off: the pinned service's update
	// waits, and converges once the worker is back.
	e.swarm.Cut(t, w1)
	e.swarm.WaitNodeState(t, w1, "down")
	renewed := make(chan error, 1)
	go func() {
		// (Its Err would also carry the source problems: the bad labels.)
		renewed <- e.app.Controller.Renew(context.Background(), []string{"pinned.example.com"}, true).Failed["pinned.example.com"]
	}()
	eventually(t, 60*time.Second, "version 2 issued while worker 1 is cut off", func() bool { return e.version("pinned.example.com") == 2 })
	time.Sleep(5 * time.Second) // the update is under way, waiting for the worker
	e.swarm.Heal(t, w1)
	healed := time.Now()
	e.swarm.WaitNodeState(t, w1, "ready")
	waitTaskFiles(t, w1, "pinned", "/run/secrets/pinned.example.com", e.liveFiles(t, "pinned.example.com"), 3*time.Minute)
	t.Logf("version 2 on the healed worker %v after it was healed", time.Since(healed).Round(time.Millisecond))
	select {
	case err := <-renewed:
		if err != nil {
			t.Errorf("renew --force during the cut: %v", err)
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("renew --force never returned")
	}
	eventually(t, 30*time.Second, "status shows pinned at version 2", func() bool {
		certs, _ := e.app.Controller.Status(context.Background())
		i := slices.IndexFunc(certs, func(c controller.CertStatus) bool { return c.Name == "pinned.example.com" })
		d := certs[i].Record.Deliveries
		return i >= 0 && len(d) == 1 && d[0].Version == 2 && d[0].Error == ""
	})
}

// burstLimit is Deliverer's default Parallel: services updated at once.
const burstLimit = 4

// TestSwarmSecretsBurst: 20 services sharing one certificate rotate in
// one burst, at most burstLimit service updates at a time.
func TestSwarmSecretsBurst(t *testing.T) {
	e := startE2E(t)
	const n = 20
	const name = "burst.example.com"
	var services []string
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range n {
		svc := fmt.Sprintf("b%02d", i)
		services = append(services, svc)
		wg.Go(func() {
			out, err := e.swarm.Manager(t).Command(context.Background(), "service", "create", "--detach", "--name", svc,
				"--constraint", "node.role==worker", "--label", "certdock.domains="+name, "--label", "certdock.secrets=true",
				e.image, "sleep", "3600").CombinedOutput()
			if err != nil {
				mu.Lock()
				t.Errorf("create %s: %v: %s", svc, err, out)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	delivered := func(v int) bool {
		certs, _ := e.app.Controller.Status(context.Background())
		for _, cs := range certs {
			if cs.Name != name {
				continue
			}
			ok := 0
			for _, d := range cs.Record.Deliveries {
				if d.Version == v && d.Error == "" {
					ok++
				}
			}
			return ok == n
		}
		return false
	}
	eventually(t, 5*time.Minute, "all 20 services hold version 1", func() bool { return delivered(1) })
	start := time.Now()
	if res := e.app.Controller.Renew(context.Background(), []string{name}, true); res.Err() != nil {
		t.Fatal(res.Err())
	}
	eventually(t, 5*time.Minute, "all 20 services hold version 2", func() bool { return delivered(2) })
	took := time.Since(start)
	// Swarm keeps each update's start and end: at no time were more than
	// burstLimit services updating.
	type span struct{ from, to time.Time }
	var spans []span
	for _, svc := range services {
		var st struct {
			StartedAt, CompletedAt time.Time
			State                  string
		}
		out := e.manager(t, "service", "inspect", "-f", "{{json .UpdateStatus}}", svc)
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("%s update status %q: %v", svc, out, err)
		}
		if st.State != "completed" || st.StartedAt.Before(start) {
			t.Fatalf("%s: last update %s started %v, want completed after the renewal", svc, st.State, st.StartedAt)
		}
		spans = append(spans, span{st.StartedAt, st.CompletedAt})
	}
	most := 0
	for _, s := range spans {
		at := 0
		for _, o := range spans {
			if !o.from.After(s.from) && o.to.After(s.from) {
				at++
			}
		}
		most = max(most, at)
	}
	t.Logf("20 services rotated in %v, at most %d updating at once", took.Round(time.Millisecond), most)
	if most > burstLimit {
		t.Fatalf("%d services updating at once, want at most %d", most, burstLimit)
	}
}
