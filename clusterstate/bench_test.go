package clusterstate

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/internal/testenv"
	"github.com/certdock/certdock/store"
)

// BenchmarkSwarmStateWrite: the cost of publishing one new certificate
// version to a real 3-manager swarm (one sealed config, written through
// Raft), as the holder does after every issuance.
func BenchmarkSwarmStateWrite(b *testing.B) {
	s := testenv.StartSwarm(b, testenv.SwarmOptions{Managers: 3})
	dc, err := docker.New(docker.Options{Host: s.Manager(b).DockerHost()})
	if err != nil {
		b.Fatal(err)
	}
	defer dc.Close()
	v := NewVault(dc, testKey(b, 42), nil)
	local := store.New(b.TempDir(), store.Options{})
	ctx := context.Background()
	snap, err := v.Snapshot(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := v.Pull(ctx, snap, local); err != nil {
		b.Fatal(err)
	}
	if _, err := v.Push(ctx, snap, local); err != nil { // account-less state record
		b.Fatal(err)
	}
	bundles := make([]cert.Bundle, b.N)
	for i := range bundles {
		bundles[i] = selfSigned(b, "bench.example.com")
	}
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if _, err := local.Save("bench.example.com", bundles[i], cert.IssueMeta{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		res, err := v.Push(ctx, snap, local)
		took = append(took, time.Since(start))
		if err != nil || len(res.Versions) != 1 {
			b.Fatalf("push: %+v, %v", res, err)
		}
	}
	b.StopTimer()
	reportQuantiles(b, took, "ms", time.Millisecond)
}

// BenchmarkSwarmStateNoopPush: the holder's periodic check with nothing
// new, over 1,000 lineages (a snapshot taken once at acquisition; no call
// to the swarm when nothing changed).
func BenchmarkSwarmStateNoopPush(b *testing.B) {
	local := store.New(b.TempDir(), store.Options{})
	for i := range 1000 {
		name := fmt.Sprintf("c%04d.example.com", i)
		if _, err := local.Save(name, selfSigned(b, name), cert.IssueMeta{}); err != nil {
			b.Fatal(err)
		}
	}
	api := &countingConfigs{}
	v := NewVault(api, testKey(b, 42), nil)
	ctx := context.Background()
	snap, _ := v.Snapshot(ctx)
	if _, err := v.Pull(ctx, snap, local); err != nil {
		b.Fatal(err)
	}
	if _, err := v.Push(ctx, snap, local); err != nil {
		b.Fatal(err)
	}
	writes := api.writes
	b.ResetTimer()
	for range b.N {
		if _, err := v.Push(ctx, snap, local); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if api.writes != writes {
		b.Fatalf("a no-op push wrote %d configs", api.writes-writes)
	}
}

// BenchmarkSwarmFailover: the holder's dockerd is killed; how long until
// another certdock holds the lease and may act (3 managers, default TTL
// and poll).
func BenchmarkSwarmFailover(b *testing.B) {
	s := testenv.StartSwarm(b, testenv.SwarmOptions{Managers: 3, Heartbeat: 2 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	type member struct {
		node *testenv.SwarmNode
		e    *Elector
	}
	var members []member
	for _, n := range s.Managers() {
		dc, err := docker.New(docker.Options{Host: n.DockerHost()})
		if err != nil {
			b.Fatal(err)
		}
		defer dc.Close()
		e := NewElector(NewSwarmLease(dc, "", 0), ElectorOptions{ID: n.Name})
		members = append(members, member{n, e})
		wg.Add(1)
		go func() { defer wg.Done(); e.Run(ctx) }()
	}
	holder := func() int {
		for i, m := range members {
			if _, ok := m.e.Acting(); ok {
				return i
			}
		}
		return -1
	}
	wait := func(cond func() bool) time.Duration {
		start := time.Now()
		for !cond() {
			if time.Since(start) > 2*time.Minute {
				b.Fatal("no takeover within 2 minutes")
			}
			time.Sleep(20 * time.Millisecond)
		}
		return time.Since(start)
	}
	wait(func() bool { return holder() >= 0 })
	var took []time.Duration
	b.ResetTimer()
	for range b.N {
		h := holder()
		s.Kill(b, members[h].node)
		took = append(took, wait(func() bool { i := holder(); return i >= 0 && i != h }))
		b.StopTimer()
		s.Restart(b, members[h].node)
		s.WaitNodeState(b, members[h].node, "ready")
		time.Sleep(5 * time.Second) // let its elector see the lease again
		b.StartTimer()
	}
	b.StopTimer()
	reportQuantiles(b, took, "s", time.Second)
}

func reportQuantiles(b *testing.B, d []time.Duration, unit string, scale time.Duration) {
	slices.Sort(d)
	q := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))]) / float64(scale) }
	b.ReportMetric(q(0.5), unit+"-p50")
	b.ReportMetric(q(0.9), unit+"-p90")
	b.ReportMetric(0, "ns/op")
}

// countingConfigs is an empty VaultAPI counting writes.
type countingConfigs struct {
	mu     sync.Mutex
	items  []docker.Config
	writes int
}

func (c *countingConfigs) CreateConfig(_ context.Context, name string, data []byte, labels map[string]string) (docker.Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	cfg := docker.Config{ID: name, Name: name, Data: data, Labels: labels, Index: uint64(c.writes)}
	c.items = append(c.items, cfg)
	return cfg, nil
}
func (c *countingConfigs) Config(context.Context, string) (docker.Config, error) {
	return docker.Config{}, docker.ErrConfigNotFound
}
func (c *countingConfigs) UpdateConfigLabels(context.Context, string, uint64, map[string]string) error {
	return nil
}
func (c *countingConfigs) Configs(context.Context, string) ([]docker.Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.items), nil
}
func (c *countingConfigs) RemoveConfig(context.Context, string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return nil
}
