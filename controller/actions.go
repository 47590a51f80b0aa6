package controller

import (
	"context"
	"strings"

	"github.com/certdock/certdock/cert"
)

// kickActions wakes the action loop (the queue just ran idle). It never
// blocks: the loop then runs whatever is pending.
func (c *Controller) kickActions() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// actionLoop runs the actions of changed certificates off the issuing
// workers (a service force-update may wait minutes for convergence), once
// per burst of work: each time the queue runs idle.
func (c *Controller) actionLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
			c.runActions(ctx)
		}
	}
}

// runActions runs the actions of every certificate changed since they
// last ran, each distinct action once, then the deliveries.
func (c *Controller) runActions(ctx context.Context) {
	c.act(ctx)
	c.deliver(ctx)
}

// act runs the actions of every certificate changed since they last ran,
// each distinct action once.
func (c *Controller) act(ctx context.Context) {
	c.mu.Lock()
	names := c.pending
	c.pending = nil
	var specs []cert.Spec
	for _, n := range names {
		if s, ok := c.desired[n]; ok {
			specs = append(specs, s)
		}
	}
	c.mu.Unlock()
	defer c.deployFinal(ctx, specs)
	actions := Dedupe(specs)
	if len(actions) == 0 {
		return
	}
	if c.actor == nil {
		for _, a := range actions {
			c.log.Warn("action skipped: no Docker connection", "target", a.Target, "action", a.String())
		}
		return
	}
	for _, err := range c.actor.Act(ctx, actions) {
		c.log.Warn("action failed", "err", err)
	}
}

// deployFinal runs the FinalDeployer's last step for each certificate
// whose actions just ran.
func (c *Controller) deployFinal(ctx context.Context, specs []cert.Spec) {
	fd, ok := c.opts.Deployer.(FinalDeployer)
	if !ok {
		return
	}
	for _, s := range specs {
		if err := fd.DeployFinal(ctx, s); err != nil {
			c.log.Error("deploy step failed (the new version is on disk)", "cert", s.Name, "err", err)
		}
	}
}

// Dedupe returns the actions of specs with each (kind, target, command,
// signal) once, in first-seen order.
func Dedupe(specs []cert.Spec) []cert.Action {
	seen := map[string]bool{}
	var out []cert.Action
	for _, s := range specs {
		for _, a := range s.Actions {
			k := string(a.Kind) + "\x00" + a.Target + "\x00" + strings.Join(a.Command, "\x00") + "\x00" + a.Signal
			if !seen[k] {
				seen[k] = true
				out = append(out, a)
			}
		}
	}
	return out
}
