package docker

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// convergePoll is the interval between inspections while a service update
// converges.
const convergePoll = 250 * time.Millisecond

// sentUpdate is a service update Swarm accepted, as waitConverged needs it.
type sentUpdate struct {
	// op and service name the operation in errors ("force-update", "web").
	op, service string
	// svc is the service as inspected before the update: its ID and mode.
	svc swarm.Service
	// before is the update status seen before the update: a status equal
	// to it is a previous update's and is ignored.
	before *swarm.UpdateStatus
	// isNew tells a task of the updated spec from an older one.
	isNew func(swarm.TaskSpec) bool
	// start is when the operation started, for the timeout message.
	start time.Time
}

// waitConverged waits until ctx ends for the update u to converge: Swarm
// reports it "completed" or, when Swarm reports no status of this update,
// every task Swarm wants running is new (u.isNew) and runs, and a
// replicated service has as many as it wants. A paused or rolled-back
// update is an error with Swarm's message; so is the end of ctx, with the
// last state seen. Jobs are not waited for. A service removed meanwhile
// gives an error wrapping ErrNotFound.
func (c *Client) waitConverged(ctx context.Context, u sentUpdate) error {
	if m := u.svc.Spec.Mode; m.ReplicatedJob != nil || m.GlobalJob != nil {
		return nil
	}
	state := "no progress seen"
	for {
		ins, err := c.api.ServiceInspect(ctx, u.svc.ID, client.ServiceInspectOptions{})
		if err != nil {
			if ctx.Err() == nil {
				return opError(u.op, "service", u.service, err)
			}
		} else {
			done, st, err := c.converged(ctx, ins.Service, u.before, u.isNew)
			switch {
			case err != nil && ctx.Err() == nil:
				return fmt.Errorf("docker: %s: service %s: %w", u.op, u.service, err)
			case err != nil:
				// The wait ended during the check: the timeout message
				// keeps the last state seen.
			case done:
				return nil
			default:
				state = st
			}
		}
		t := time.NewTimer(convergePoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("docker: %s: service %s: not converged after %v (%s): %w",
				u.op, u.service, time.Since(u.start).Round(time.Millisecond), state, ctx.Err())
		case <-t.C:
		}
	}
}

// converged tells whether an update has converged, given the update status
// seen before it (stale statuses are ignored) and what tells its tasks from
// older ones; state describes the progress for a timeout message. A paused
// or rolled-back update is an error.
func (c *Client) converged(ctx context.Context, svc swarm.Service, before *swarm.UpdateStatus, isNew func(swarm.TaskSpec) bool) (done bool, state string, err error) {
	if st := svc.UpdateStatus; st != nil && !sameUpdate(st, before) {
		switch st.State {
		case swarm.UpdateStateCompleted:
			return true, "", nil
		case swarm.UpdateStatePaused, swarm.UpdateStateRollbackStarted,
			swarm.UpdateStateRollbackPaused, swarm.UpdateStateRollbackCompleted:
			return false, "", fmt.Errorf("update %s: %s", st.State, st.Message)
		}
		return false, fmt.Sprintf("update %s", st.State), nil
	}
	// No status of this update (yet): look at the tasks.
	f := client.Filters{}
	f.Add("service", svc.ID)
	f.Add("desired-state", string(swarm.TaskStateRunning))
	tasks, err := c.api.TaskList(ctx, client.TaskListOptions{Filters: f})
	if err != nil {
		return false, "", fmt.Errorf("list tasks: %w", err)
	}
	running := 0
	for _, t := range tasks.Items {
		if !isNew(t.Spec) {
			return false, "old tasks still running", nil
		}
		if t.Status.State == swarm.TaskStateRunning {
			running++
		}
	}
	if running < len(tasks.Items) {
		return false, fmt.Sprintf("%d of %d new tasks running", running, len(tasks.Items)), nil
	}
	if r := svc.Spec.Mode.Replicated; r != nil {
		wantRunning := uint64(1)
		if r.Replicas != nil {
			wantRunning = *r.Replicas
		}
		if uint64(running) < wantRunning {
			return false, fmt.Sprintf("%d of %d new tasks running", running, wantRunning), nil
		}
	}
	return true, "", nil
}

// sameUpdate reports whether two update statuses describe the same update.
func sameUpdate(a, b *swarm.UpdateStatus) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.State == b.State && timeEqual(a.StartedAt, b.StartedAt)
}

func timeEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
