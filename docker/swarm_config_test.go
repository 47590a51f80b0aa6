package docker

import (
	"context"
	"errors"
	"testing"
)

// TestSwarmConfigs: on the real engine's swarm, a config's data reads
// back whole, its labels change only at the version index they were read
// at (a stale one is ErrOutOfSequence), and a removed one is gone.
func TestSwarmConfigs(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t)
	requireSwarmManager(t, e)
	c := e.client(t, "")
	ctx := t.Context()
	name := "certdock-test-" + randomHex(4)
	labels := map[string]string{testLabel: "1", e.prefix + ".state": "lease"}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := c.RemoveConfig(ctx, name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})

	data := make([]byte, 900<<10) // under Swarm's 1000 KB
	for i := range data {
		data[i] = byte(i % 251)
	}
	cfg, err := c.CreateConfig(ctx, name, data, labels)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Config(ctx, name)
	if err != nil || string(got.Data) != string(data) || got.Index != cfg.Index {
		t.Fatalf("read back: %d bytes, index %d (created at %d), %v", len(got.Data), got.Index, cfg.Index, err)
	}
	if again, err := c.CreateConfig(ctx, name, data, labels); err != nil || again.ID != cfg.ID {
		t.Fatalf("create again with the same content: %v", err)
	}

	next := map[string]string{testLabel: "1", e.prefix + ".state": "lease", "holder": "a"}
	if err := c.UpdateConfigLabels(ctx, cfg.ID, cfg.Index, next); err != nil {
		t.Fatal(err)
	}
	stale := map[string]string{testLabel: "1", e.prefix + ".state": "lease", "holder": "b"}
	if err := c.UpdateConfigLabels(ctx, cfg.ID, cfg.Index, stale); !errors.Is(err, ErrOutOfSequence) {
		t.Fatalf("update at a stale index: %v, want ErrOutOfSequence", err)
	}
	got, err = c.Config(ctx, name)
	if err != nil || got.Labels["holder"] != "a" || got.Index <= cfg.Index || string(got.Data) != string(data) {
		t.Fatalf("after the update: holder %q, index %d, %v", got.Labels["holder"], got.Index, err)
	}
	list, err := c.Configs(ctx, e.prefix+".state")
	if err != nil || len(list) != 1 || list[0].ID != cfg.ID || len(list[0].Data) != len(data) {
		t.Fatalf("list: %d configs, %v", len(list), err)
	}
	if err := c.RemoveConfig(ctx, cfg.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Config(ctx, name); !errors.Is(err, ErrConfigNotFound) {
		t.Fatalf("after remove: %v", err)
	}
}
