package docker

import (
	"context"
	"errors"
	"io"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/moby/moby/api/types/events"
)

// timedHandler is a Handler that records when Connected is called (since
// start) and the events it gets.
type timedHandler struct {
	mu        sync.Mutex
	start     time.Time
	connected []time.Duration
	events    []Event
}

func (h *timedHandler) Connected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.connected = append(h.connected, time.Since(h.start))
}

func (h *timedHandler) Event(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

// runWatch runs c.Watch in the bubble until the returned stop is called;
// stop waits for Watch to return.
func runWatch(c *Client, h Handler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Watch(ctx, h)
	}()
	return func() {
		cancel()
		<-done
	}
}

// message returns a daemon event.
func message(typ events.Type, action events.Action, id string, attrs map[string]string) events.Message {
	return events.Message{Type: typ, Action: action, Actor: events.Actor{ID: id, Attributes: attrs}}
}

// TestWatchReconnects follows Watch through a failed ping, a stream the
// daemon ends, a connection found dead by the keep-alive ping, and a
// reconnect, on a fake clock.
func TestWatchReconnects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sel := map[string]string{"name": "web", "certdock.domains": "example.com", "image": "nginx"}
		f := &fakeEngine{
			// Connect pings: fail, ok, ok; then the keep-alive ping of the
			// second connection fails; then all succeed.
			pings: []error{errors.New("connection refused"), nil, nil, errors.New("i/o timeout")},
			streams: []fakeStream{
				{
					messages: []events.Message{
						message(events.ContainerEventType, events.ActionStart, "c1", sel),
						message(events.ContainerEventType, events.ActionStart, "c2", map[string]string{"name": "other", "traefik.enable": "true"}),
						message(events.ServiceEventType, events.ActionUpdate, "s1", map[string]string{"name": "api"}),
						message(events.NetworkEventType, events.ActionConnect, "n1", map[string]string{"name": "bridge", "certdock.x": "1"}),
						message(events.ContainerEventType, events.ActionRename, "c1", map[string]string{"name": "web2", "oldName": "/web", "certdock.domains": "example.com"}),
					},
					end: io.EOF,
				},
			},
		}
		c := newFakeClient(t, f, "certdock")
		h := &timedHandler{start: time.Now()}
		stop := runWatch(c, h)

		time.Sleep(40 * time.Second)
		synctest.Wait()
		if !c.Healthy() {
			t.Error("Healthy() = false while connected")
		}
		stop()
		if c.Healthy() {
			t.Error("Healthy() = true after Watch returned")
		}

		// 100 ms after the failed ping; 200 ms after the stream ended
		// (the backoff doubles: that connection was short); 30 s later
		// the keep-alive ping fails, and 100 ms after that (the backoff
		// starts over: that connection lasted 30 s) the third.
		wantConnected := []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 30*time.Second + 400*time.Millisecond}
		if !reflect.DeepEqual(h.connected, wantConnected) {
			t.Errorf("Connected at %v, want %v", h.connected, wantConnected)
		}
		wantEvents := []Event{
			{Kind: KindContainer, Action: "start", ID: "c1", Name: "web"},
			{Kind: KindService, Action: "update", ID: "s1", Name: "api"},
			{Kind: KindContainer, Action: "rename", ID: "c1", Name: "web2"},
		}
		if !reflect.DeepEqual(h.events, wantEvents) {
			t.Errorf("events = %+v, want %+v", h.events, wantEvents)
		}
		if n := len(f.times("Events")); n != 3 {
			t.Errorf("%d subscriptions, want 3", n)
		}
	})
}

// TestWatchBackoff checks the wait between failed connections: doubling
// from 100 ms to 30 s, a failed subscription counting as a failure.
func TestWatchBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := errors.New("connection refused")
		f := &fakeEngine{
			pings:   []error{down, down, down, down, down, down, down, down, down, down},
			streams: []fakeStream{{err: errors.New("Error response from daemon: 500")}},
		}
		c := newFakeClient(t, f, "")
		h := &timedHandler{start: time.Now()}
		stop := runWatch(c, h)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		stop()

		var gaps []time.Duration
		pings := f.times("Ping")
		for i := 1; i < len(pings) && i <= 11; i++ {
			gaps = append(gaps, pings[i].Sub(pings[i-1]))
		}
		ms := time.Millisecond
		want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 12800 * ms, 25600 * ms, 30 * time.Second, 30 * time.Second}
		if !reflect.DeepEqual(gaps, want) {
			t.Errorf("waits between connection attempts = %v, want %v", gaps, want)
		}
		if len(h.connected) != 1 || h.connected[0] != pings[11].Sub(h.start) {
			t.Errorf("Connected at %v, want once, at the 12th attempt (%v)", h.connected, pings[min(11, len(pings)-1)].Sub(h.start))
		}
	})
}

// TestWatchStopsAtOnce checks that Watch returns when its context ends,
// whether it is connected or waiting to retry.
func TestWatchStopsAtOnce(t *testing.T) {
	tests := []struct {
		name  string
		pings []error
	}{
		{name: "connected"},
		{name: "waiting to retry", pings: []error{errors.New("connection refused")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeEngine{pings: tt.pings}
				c := newFakeClient(t, f, "")
				stop := runWatch(c, &timedHandler{})
				time.Sleep(50 * time.Millisecond)
				start := time.Now()
				stop()
				if took := time.Since(start); took != 0 {
					t.Errorf("Watch took %v to return", took)
				}
			})
		})
	}
}
