package docker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

const (
	// updateAttempts bounds the inspect-update rounds when another writer
	// changes the service between our inspect and our update.
	updateAttempts = 5
	// convergePoll is the interval between inspections while a service
	// update converges.
	convergePoll = 250 * time.Millisecond
)

// ForceUpdate makes Swarm replace every task of a service, as
// `docker service update --force` does: it increments the service's
// Spec.TaskTemplate.ForceUpdate and updates it with the inspected version
// (inspecting again and retrying, up to 5 times, when another writer got
// there first). It keeps the service's registry credentials and does not
// re-resolve its image.
//
// It then waits, at most convergeTimeout (<= 0: only ctx bounds it), until
// the update has converged: Swarm reports the update "completed" (Engine
// 20.10 reports "updating" at once and "completed" after the update
// monitor period, 5 s by default, following the last new task's start),
// or, when Swarm reports no status of this update, every task Swarm wants
// running belongs to the new spec and runs. A paused or rolled-back update
// is an error with Swarm's message, and so is the timeout. Jobs are not
// waited for. A missing service gives an error wrapping ErrNotFound; on a
// node that is not a Swarm manager the daemon's error is returned.
func (c *Client) ForceUpdate(ctx context.Context, service string, convergeTimeout time.Duration) error {
	if err := checkName("force-update", "service", service); err != nil {
		return err
	}
	start := time.Now()
	if convergeTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, convergeTimeout)
		defer cancel()
	}
	var (
		svc    swarm.Service
		before *swarm.UpdateStatus
		want   uint64
	)
	for attempt := 1; ; attempt++ {
		ins, err := c.api.ServiceInspect(ctx, service, client.ServiceInspectOptions{})
		if err != nil {
			return opError("force-update", "service", service, err)
		}
		svc = ins.Service
		spec := svc.Spec
		spec.TaskTemplate.ForceUpdate++
		res, err := c.api.ServiceUpdate(ctx, svc.ID, client.ServiceUpdateOptions{
			Version:          svc.Version,
			Spec:             spec,
			RegistryAuthFrom: swarm.RegistryAuthFromSpec,
		})
		if err == nil {
			before, want = svc.UpdateStatus, spec.TaskTemplate.ForceUpdate
			for _, w := range res.Warnings {
				c.log.Debug("service update warning", "service", service, "warning", w)
			}
			break
		}
		if outOfSequence(err) && attempt < updateAttempts {
			c.log.Debug("service changed while updating it, retrying", "service", service, "attempt", attempt, "err", err)
			continue
		}
		return opError("force-update", "service", service, err)
	}
	c.log.Debug("service force-update started", "service", service, "force_update", want)

	if m := svc.Spec.Mode; m.ReplicatedJob != nil || m.GlobalJob != nil {
		return nil
	}
	state := "no progress seen"
	for {
		ins, err := c.api.ServiceInspect(ctx, svc.ID, client.ServiceInspectOptions{})
		if err != nil {
			if ctx.Err() == nil {
				return opError("force-update", "service", service, err)
			}
		} else {
			done, st, err := c.converged(ctx, ins.Service, before, want)
			switch {
			case err != nil && ctx.Err() == nil:
				return fmt.Errorf("docker: force-update: service %s: %w", service, err)
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
			return fmt.Errorf("docker: force-update: service %s: not converged after %v (%s): %w",
				service, time.Since(start).Round(time.Millisecond), state, ctx.Err())
		case <-t.C:
		}
	}
}

// converged tells whether the force-update to spec ForceUpdate want has
// converged, given the update status seen before it (stale statuses are
// ignored); state describes the progress for a timeout message. A paused or
// rolled-back update is an error.
func (c *Client) converged(ctx context.Context, svc swarm.Service, before *swarm.UpdateStatus, want uint64) (done bool, state string, err error) {
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
		if t.Spec.ForceUpdate != want {
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

// outOfSequence reports whether a service update lost a race with another
// writer (Swarm checks the version given against the stored one).
func outOfSequence(err error) bool {
	if err == nil {
		return false
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "update out of sequence") || strings.Contains(msg, "version conflict")
}
