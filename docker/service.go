package docker

import (
	"context"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// updateAttempts bounds the inspect-update rounds when another writer
// changes the service between our inspect and our update.
const updateAttempts = 5

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
	return c.waitConverged(ctx, sentUpdate{
		op:      "force-update",
		service: service,
		svc:     svc,
		before:  before,
		isNew:   func(t swarm.TaskSpec) bool { return t.ForceUpdate == want },
		start:   start,
	})
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
