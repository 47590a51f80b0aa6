package deliver_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkSwarmRotation measures, on a real swarm of one manager and two
// workers, the time from a new version on disk to every task of a
// 3-replica service on the workers running with the new files, at Swarm's
// default update settings (parallelism 1, delay 0, monitor 5 s,
// stop-first), for a service that stops promptly on SIGTERM. It reports the p50 and p90 over the iterations; run it
// with -benchtime Nx (each iteration takes tens of seconds).
func BenchmarkSwarmRotation(b *testing.B) {
	e := newE2E(b, nil)
	e.start(b)
	const name, svc = "bench.example.com", "bench"
	e.manager(b, "service", "create", "--detach", "--name", svc, "--replicas", "3", "--constraint", "node.role==worker",
		"--label", "certdock.domains="+name, "--label", "certdock.secrets=true",
		// Stops at once on SIGTERM, as a real server does (a bare sleep as
		// PID 1 ignores it, and Swarm waits its 10 s grace per task).
		e.image, "sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait")
	eventually(b, 3*time.Minute, "3 tasks with version 1", func() bool {
		return e.version(name) == 1 && tasksWith(e, svc, "/run/secrets/"+name+"/fullchain.pem", e.liveFiles(b, name)["fullchain.pem"]) == 3
	})
	var took []time.Duration
	for b.Loop() {
		v := e.version(name)
		// Watched while certdock works: the update's completion (which
		// Renew waits for) comes after Swarm's monitor period, later
		// than the tasks run with the new files.
		arrived := make(chan time.Duration, 1)
		go func() {
			for e.version(name) == v {
				time.Sleep(5 * time.Millisecond)
			}
			start := time.Now()
			want := e.liveFiles(b, name)["fullchain.pem"]
			for tasksWith(e, svc, "/run/secrets/"+name+"/fullchain.pem", want) != 3 {
				if time.Since(start) > 3*time.Minute {
					arrived <- -1
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			arrived <- time.Since(start)
		}()
		if res := e.app.Controller.Renew(context.Background(), []string{name}, true); res.Failed[name] != nil {
			b.Fatal(res.Failed[name])
		}
		d := <-arrived
		if d < 0 {
			b.Fatal("the new version never reached the 3 tasks")
		}
		took = append(took, d)
	}
	slices.Sort(took)
	b.ReportMetric(percentile(took, 50).Seconds(), "p50-s")
	b.ReportMetric(percentile(took, 90).Seconds(), "p90-s")
	b.Logf("new version on disk → 3 tasks running with it: %v", took)
}

// percentile returns the p-th percentile of sorted durations (nearest
// rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted) + 99) / 100
	return sorted[max(i-1, 0)]
}

// tasksWith counts the running tasks of service, on any node, whose
// file holds want.
func tasksWith(e *e2e, service, file, want string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := 0
	for _, node := range e.swarm.Nodes {
		out, err := node.Command(ctx, "ps", "--quiet", "--filter", "status=running", "--filter", "label=com.docker.swarm.service.name="+service).Output()
		if err != nil {
			continue
		}
		for _, id := range strings.Fields(string(out)) {
			got, err := node.Command(ctx, "exec", id, "cat", file).Output()
			if err == nil && string(got) == want {
				n++
			}
		}
	}
	return n
}
