package docker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/moby/moby/client"

	"github.com/certdock/certdock/cert"
)

// Timeouts Act gives each kind of action.
const (
	// actStopTimeout is how long a restarted container may take to stop
	// before it is killed.
	actStopTimeout = 10 * time.Second
	// actExecTimeout bounds a command run in a container.
	actExecTimeout = 60 * time.Second
	// actConvergeTimeout bounds a service force-update until its new tasks
	// run (Swarm's default update monitor alone takes 5 s per batch).
	actConvergeTimeout = 5 * time.Minute
)

// The controller's Actor interface.
var _ interface {
	Act(context.Context, []cert.Action) []error
} = (*Client)(nil)

// Restart restarts a running container, giving it stopTimeout to stop
// before it is killed (stopTimeout <= 0: the container's own stop timeout,
// Docker's default 10 s). The stop signal is the container's (API 1.41
// cannot choose another). A missing container gives an error wrapping
// ErrNotFound; a container that is not running is left stopped and gives
// an error wrapping ErrNotRunning, since starting what a user stopped is
// not certdock's business.
func (c *Client) Restart(ctx context.Context, container string, stopTimeout time.Duration) error {
	if err := checkName("restart", "container", container); err != nil {
		return err
	}
	ins, err := c.api.ContainerInspect(ctx, container, client.ContainerInspectOptions{})
	if err != nil {
		return opError("restart", "container", container, err)
	}
	if st := ins.Container.State; st == nil || !st.Running {
		return fmt.Errorf("docker: restart: container %s %w", container, ErrNotRunning)
	}
	var opts client.ContainerRestartOptions
	if stopTimeout > 0 {
		secs := int(math.Ceil(stopTimeout.Seconds()))
		opts.Timeout = &secs
	}
	// By ID: the name may be taken by a new container meanwhile.
	if _, err := c.api.ContainerRestart(ctx, ins.Container.ID, opts); err != nil {
		return opError("restart", "container", container, err)
	}
	return nil
}

// Signal sends signal (any spelling cert.ParseSignal accepts, e.g. "SIGHUP",
// "hup", "1") to the main process of a running container. A missing
// container gives an error wrapping ErrNotFound, a stopped one an error
// wrapping ErrNotRunning.
func (c *Client) Signal(ctx context.Context, container, signal string) error {
	if err := checkName("signal", "container", container); err != nil {
		return err
	}
	sig, err := cert.ParseSignal(signal)
	if err != nil {
		return fmt.Errorf("docker: signal: container %s: %w", container, err)
	}
	if _, err := c.api.ContainerKill(ctx, container, client.ContainerKillOptions{Signal: sig}); err != nil {
		return opError("signal "+sig, "container", container, err)
	}
	return nil
}

// Act performs actions in order and returns the errors of those that
// failed (nil when all went well), each naming its action:
//
//   - Restart: a force-update (ForceUpdate, 5 min to converge) when the
//     action targets a Swarm service, else Restart with a 10 s stop timeout;
//   - Signal: Signal;
//   - Exec: Exec with a 60 s timeout.
//
// A missing target gives an error wrapping ErrNotFound (callers log it as
// a warning). A container that is not running is skipped without error: it
// reads the new certificate when it starts. Each result is logged at Info
// with the keys target, action, took and result (done, skipped, failed).
func (c *Client) Act(ctx context.Context, actions []cert.Action) []error {
	var errs []error
	for _, a := range actions {
		start := time.Now()
		err := c.act(ctx, a)
		took := time.Since(start).Round(time.Millisecond)
		switch {
		case err == nil:
			c.log.Info("action done", "target", a.Target, "action", a.String(), "took", took, "result", "done")
		case errors.Is(err, ErrNotRunning):
			c.log.Info("action skipped: container not running; it reads the new certificate when it starts",
				"target", a.Target, "action", a.String(), "took", took, "result", "skipped")
		default:
			c.log.Info("action failed", "target", a.Target, "action", a.String(), "took", took, "result", "failed", "err", err)
			errs = append(errs, err)
		}
	}
	return errs
}

// act performs one action.
func (c *Client) act(ctx context.Context, a cert.Action) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("docker: %s: %w", a, err)
	}
	if a.Service && a.Kind != cert.Restart {
		return fmt.Errorf("docker: %s: Swarm services can only be force-updated (restart), not sent %s actions", a, a.Kind)
	}
	switch a.Kind {
	case cert.Restart:
		if a.Service {
			return c.ForceUpdate(ctx, a.Target, actConvergeTimeout)
		}
		return c.Restart(ctx, a.Target, actStopTimeout)
	case cert.Signal:
		return c.Signal(ctx, a.Target, a.Signal)
	case cert.Exec:
		_, err := c.Exec(ctx, a.Target, a.Command, actExecTimeout)
		return err
	}
	return fmt.Errorf("docker: %s: unknown action kind %q", a, a.Kind)
}
