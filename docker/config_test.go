package docker

import (
	"context"
	"errors"
	"testing"
)

func TestConfigCreateReadUpdate(t *testing.T) {
	ctx := context.Background()
	f := &fakeEngine{}
	c := newFakeClient(t, f, "certdock")
	labels := map[string]string{"certdock.state": "lease"}

	cfg, err := c.CreateConfig(ctx, "certdock-lease", []byte("lease"), labels)
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.Data) != "lease" || cfg.Index == 0 || cfg.ID == "" {
		t.Fatalf("created: %+v", cfg)
	}
	// Created again with the same content (a retry after a crash): the
	// same config.
	again, err := c.CreateConfig(ctx, "certdock-lease", []byte("lease"), labels)
	if err != nil || again.ID != cfg.ID {
		t.Fatalf("create again: %+v, %v", again, err)
	}
	if _, err := c.CreateConfig(ctx, "certdock-lease", []byte("other"), labels); !errors.Is(err, ErrConfigExists) {
		t.Fatalf("create with other data: %v, want ErrConfigExists", err)
	}
	if _, err := c.CreateConfig(ctx, "certdock-lease", []byte("lease"), nil); !errors.Is(err, ErrConfigExists) {
		t.Fatalf("create with other labels: %v, want ErrConfigExists", err)
	}

	// Compare-and-swap on the labels.
	if err := c.UpdateConfigLabels(ctx, cfg.ID, cfg.Index, map[string]string{"certdock.state": "lease", "holder": "a"}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateConfigLabels(ctx, cfg.ID, cfg.Index, map[string]string{"certdock.state": "lease", "holder": "b"}); !errors.Is(err, ErrOutOfSequence) {
		t.Fatalf("stale index: %v, want ErrOutOfSequence", err)
	}
	cur, err := c.Config(ctx, "certdock-lease")
	if err != nil || cur.Labels["holder"] != "a" || cur.Index <= cfg.Index || string(cur.Data) != "lease" {
		t.Fatalf("after update: %+v, %v", cur, err)
	}
	// Another writer between our read and our write: Swarm's refusal is
	// ErrOutOfSequence too.
	f.configs.beforeUpdate = func() {
		f.mu.Lock()
		f.configs.items[0].Version = f.nextIndex()
		f.mu.Unlock()
	}
	if err := c.UpdateConfigLabels(ctx, cur.ID, cur.Index, map[string]string{"certdock.state": "lease", "holder": "c"}); !errors.Is(err, ErrOutOfSequence) {
		t.Fatalf("concurrent writer: %v, want ErrOutOfSequence", err)
	}

	list, err := c.Configs(ctx, "certdock.state")
	if err != nil || len(list) != 1 || list[0].Name != "certdock-lease" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if err := c.RemoveConfig(ctx, cfg.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveConfig(ctx, cfg.ID); err != nil {
		t.Fatalf("removing a removed config: %v", err)
	}
	if _, err := c.Config(ctx, "certdock-lease"); !errors.Is(err, ErrConfigNotFound) {
		t.Fatalf("after remove: %v, want ErrConfigNotFound", err)
	}
}
