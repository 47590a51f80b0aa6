package ops

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestHealth(t *testing.T) {
	h := NewHealth()
	steps := []struct {
		name   string
		do     func()
		ok     bool
		status string
	}{
		{"before the first pass", func() {}, false,
			"ready: waiting for the first pass"},
		{"checks pass, still not ready", func() { h.SetCheck("store", nil); h.SetCheck("docker", nil) }, false,
			"ready: waiting for the first pass\ndocker: ok\nstore: ok"},
		{"first pass done", h.SetReady, true,
			"ready: ok\ndocker: ok\nstore: ok"},
		{"store broken", func() { h.SetCheck("store", errors.New("save state:\n  read-only file system")) }, false,
			"ready: ok\ndocker: ok\nstore: error: save state: read-only file system"},
		{"docker broken too", func() { h.SetCheck("docker", errors.New("no event stream")) }, false,
			"ready: ok\ndocker: error: no event stream\nstore: error: save state: read-only file system"},
		{"store back", func() { h.SetCheck("store", nil) }, false,
			"ready: ok\ndocker: error: no event stream\nstore: ok"},
		{"docker back", func() { h.SetCheck("docker", nil) }, true,
			"ready: ok\ndocker: ok\nstore: ok"},
		{"ready stays", h.SetReady, true,
			"ready: ok\ndocker: ok\nstore: ok"},
	}
	for _, s := range steps {
		s.do()
		ok, status := h.Status()
		if ok != s.ok || status != s.status {
			t.Errorf("%s: Status() = %v,\n%s\nwant %v,\n%s", s.name, ok, status, s.ok, s.status)
		}
	}
}

func TestHealthProbe(t *testing.T) {
	h := NewHealth()
	h.SetReady()
	var up atomic.Bool
	h.SetProbe("docker", func() error {
		if !up.Load() {
			return errors.New("not connected")
		}
		return nil
	})
	steps := []struct {
		name   string
		do     func()
		ok     bool
		status string
	}{
		{"probe failing", func() {}, false, "ready: ok\ndocker: error: not connected"},
		{"probe passing", func() { up.Store(true) }, true, "ready: ok\ndocker: ok"},
		{"check of the same name failing", func() { h.SetCheck("docker", errors.New("list failed")) }, false,
			"ready: ok\ndocker: error: list failed"},
		{"both failing: the check is shown", func() { up.Store(false) }, false,
			"ready: ok\ndocker: error: list failed"},
		{"check cleared", func() { h.SetCheck("docker", nil) }, false, "ready: ok\ndocker: error: not connected"},
		{"probe removed", func() { h.SetProbe("docker", nil) }, true, "ready: ok\ndocker: ok"},
	}
	for _, s := range steps {
		s.do()
		ok, status := h.Status()
		if ok != s.ok || status != s.status {
			t.Errorf("%s: Status() = %v,\n%s\nwant %v,\n%s", s.name, ok, status, s.ok, s.status)
		}
	}
}

func TestHealthConcurrent(t *testing.T) {
	h := NewHealth()
	h.SetProbe("docker", func() error { return nil })
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 200 {
				var err error
				if i%2 == 1 {
					err = errors.New("broken")
				}
				h.SetCheck("store", err)
				h.SetReady()
				h.Status()
			}
		})
	}
	wg.Wait()
	h.SetCheck("store", nil)
	if ok, status := h.Status(); !ok {
		t.Errorf("Status() = false,\n%s", status)
	}
}
