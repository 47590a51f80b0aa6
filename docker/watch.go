package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// Handler receives what Watch sees. Its methods are called from Watch's
// goroutine, one at a time, and should return quickly (mark something
// dirty): the event stream waits meanwhile.
type Handler interface {
	// Connected is called after every successful (re)connection, once the
	// event subscription is in place: events may have been missed while
	// disconnected, so the caller should resync from a fresh Snapshot.
	Connected()
	// Event reports one container or service event.
	Event(Event)
}

// Event is one daemon event about a container or a service.
type Event struct {
	Kind Kind
	// Action is the daemon's action: for containers "create", "start",
	// "restart", "die", "destroy", "rename", "pause", "unpause", "update";
	// for services "create", "update", "remove".
	Action string
	// ID is the container or service ID.
	ID string
	// Name is the container name (the new one after "rename") or the
	// service name.
	Name string
}

// watchedActions are the event actions Watch subscribes to (the daemon
// applies the filter to both types).
var watchedActions = []events.Action{
	events.ActionCreate, events.ActionStart, events.ActionRestart, events.ActionDie,
	events.ActionDestroy, events.ActionRename, events.ActionPause, events.ActionUnPause,
	events.ActionUpdate, events.ActionRemove,
}

// Watch follows the daemon's container and service events until ctx ends.
// It connects (ping, then subscribe), calls h.Connected, and calls h.Event
// for each event: every event of a service (service events carry only the
// name), and the events of containers that Snapshot would select by their
// labels. When the stream fails or the daemon goes away it reconnects,
// forever, waiting 100 ms after the first failure, doubling up to 30 s,
// and starting again from 100 ms once a connection has lasted 10 s. While
// connected it pings the daemon every 30 s so that a silently dead
// connection is noticed. Healthy reports whether a stream is up.
func (c *Client) Watch(ctx context.Context, h Handler) {
	delay := c.minBackoff
	failures := 0
	for ctx.Err() == nil {
		connectedAt, err := c.watchOnce(ctx, h)
		c.healthy.Store(false)
		if ctx.Err() != nil {
			return
		}
		if !connectedAt.IsZero() {
			c.log.Warn("Docker event stream lost, reconnecting", "err", err, "connected_for", time.Since(connectedAt).Round(time.Millisecond))
			failures = 0
			if time.Since(connectedAt) >= c.healthyAfter {
				delay = c.minBackoff
			}
		} else {
			failures++
			// Warn on the first failure and then about every maxBackoff;
			// the attempts in between are noise.
			lvl := slog.LevelDebug
			if failures == 1 || delay >= c.maxBackoff {
				lvl = slog.LevelWarn
			}
			c.log.Log(ctx, lvl, "Docker daemon unreachable, retrying", "err", err, "retry_in", delay, "attempt", failures)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(delay*2, c.maxBackoff)
	}
}

// watchOnce runs one connection: ping, subscribe, Connected, then events
// until the stream fails. connectedAt is zero when it never connected.
func (c *Client) watchOnce(ctx context.Context, h Handler) (connectedAt time.Time, err error) {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	_, err = c.api.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
	cancel()
	if err != nil {
		return time.Time{}, fmt.Errorf("ping: %w", err)
	}

	sctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	f := client.Filters{}
	f.Add("type", string(events.ContainerEventType), string(events.ServiceEventType))
	for _, a := range watchedActions {
		f.Add("event", string(a))
	}
	// Events returns once the daemon has answered the subscription (or
	// failed): events from here on are not lost.
	stream := c.api.Events(sctx, client.EventsListOptions{Filters: f})
	select {
	case err := <-stream.Err:
		return time.Time{}, fmt.Errorf("subscribe to events: %w", err)
	default:
	}

	connectedAt = time.Now()
	c.healthy.Store(true)
	c.log.Info("connected to Docker, watching events", "host", c.api.DaemonHost(), "api_version", c.api.ClientVersion())
	h.Connected()

	go c.keepAlive(sctx, stop)
	for {
		select {
		case m := <-stream.Messages:
			if ev, ok := c.event(m); ok {
				c.log.Debug("Docker event", "kind", ev.Kind, "action", ev.Action, "name", ev.Name)
				h.Event(ev)
			}
		case err := <-stream.Err:
			if cause := context.Cause(sctx); cause != nil && ctx.Err() == nil {
				err = cause
			}
			if errors.Is(err, io.EOF) || err == nil {
				err = errors.New("the daemon closed the event stream")
			}
			return connectedAt, err
		}
	}
}

// keepAlive pings the daemon every watchPing while ctx lives, and stops
// the stream (with the ping's error as cause) when a ping fails.
func (c *Client) keepAlive(ctx context.Context, stop context.CancelCauseFunc) {
	t := time.NewTicker(c.watchPing)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		_, err := c.api.Ping(pctx, client.PingOptions{})
		cancel()
		if err != nil && ctx.Err() == nil {
			stop(fmt.Errorf("keep-alive ping: %w", err))
			return
		}
	}
}

// event converts a daemon message; ok is false for messages Watch does not
// report (other types, containers without a selected label).
func (c *Client) event(m events.Message) (Event, bool) {
	ev := Event{Action: string(m.Action), ID: m.Actor.ID, Name: m.Actor.Attributes["name"]}
	switch m.Type {
	case events.ContainerEventType:
		// Container events carry the container's labels as attributes
		// (next to "name", "image", "exitCode"...).
		if !c.selected(m.Actor.Attributes) {
			return Event{}, false
		}
		ev.Kind = KindContainer
	case events.ServiceEventType:
		ev.Kind = KindService
	default:
		return Event{}, false
	}
	return ev, true
}
