package app_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
)

// BenchmarkLabelToAction measures the latency from `docker run` of a
// labelled container to its certificate on disk and its exec action done
// inside it, with certdock's daemon running at shipped defaults on real
// Pebble, bind9 and Docker. It reports the median and p90 in seconds.
// Containers are started one at a time on an otherwise idle engine (the
// untimed gap between them exceeds the controller's 3 s minimum interval
// between passes; back-to-back starts are a storm, measured by
// BenchmarkEventStorm).
func BenchmarkLabelToAction(b *testing.B) {
	testenv.RequireDocker(b)
	w := newBenchWorld(b, "example.com")
	w.writeDomains(b, "")
	a := w.startDaemon(b, "")
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
	var times []time.Duration
	i := 0
	for b.Loop() {
		i++
		name := fmt.Sprintf("cd-lat-%s-%d", suffix, i)
		b.StopTimer()
		time.Sleep(3 * time.Second)
		b.StartTimer()
		start := time.Now()
		runContainer(b, name, map[string]string{"certdock.domains": fmt.Sprintf("lat%d-%s.example.com", i, suffix), "certdock.exec": "touch /tmp/done"}, idleScript)
		eventually(b, 30*time.Second, "exec done", func() bool { return existsInContainer(name, "/tmp/done") })
		times = append(times, time.Since(start))
		if _, err := a.Store.Load(fmt.Sprintf("lat%d-%s.example.com", i, suffix)); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(times)
	b.ReportMetric(times[len(times)/2].Seconds(), "s-p50")
	b.ReportMetric(times[len(times)*9/10].Seconds(), "s-p90")
}

// BenchmarkEventStorm creates labelled containers, then starts them all as
// fast as the engine allows (8 `docker start` processes) while certdock
// runs, and reports how long the start storm took, how many full reconcile
// passes it caused, and when the last certificate was on disk. The 200
// case is the storm; the 40 case is about what this engine starts
// in 5 s.
func BenchmarkEventStorm(b *testing.B) {
	testenv.RequireDocker(b)
	for _, n := range []int{40, 200} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { eventStorm(b, n) })
	}
}

func eventStorm(b *testing.B, n int) {
	for b.Loop() {
		w := newBenchWorld(b, "example.com")
		w.writeDomains(b, "")
		a := w.startDaemon(b, "")
		time.Sleep(500 * time.Millisecond) // first pass done
		suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
		names := make([]string, n)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for i := range n {
			names[i] = fmt.Sprintf("cd-storm-%s-%d", suffix, i)
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				createContainer(b, names[i], map[string]string{"certdock.domains": fmt.Sprintf("storm%d-%s.example.com", i, suffix)}, idleScript)
			})
		}
		wg.Wait()
		time.Sleep(time.Second)
		before := a.Controller.Passes()
		start := time.Now()
		for chunk := range slices.Chunk(names, (n+7)/8) {
			wg.Go(func() { dockerCLI(b, append([]string{"start"}, chunk...)...) })
		}
		wg.Wait()
		storm := time.Since(start)
		eventually(b, 120*time.Second, "every storm certificate", func() bool {
			for i := range n {
				if _, err := a.Store.Load(fmt.Sprintf("storm%d-%s.example.com", i, suffix)); err != nil {
					return false
				}
			}
			return true
		})
		done := time.Since(start)
		time.Sleep(3 * time.Second) // let trailing passes finish before counting
		b.ReportMetric(storm.Seconds(), "s-storm")
		b.ReportMetric(done.Seconds(), "s-all-issued")
		b.ReportMetric(float64(a.Controller.Passes()-before), "passes")
	}
}
