package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/certdock/certdock/cert"
)

// desiredSet is one computation of the desired set.
type desiredSet struct {
	specs    map[string]cert.Spec
	problems []error
	// complete: every source was read whole, so what is not in specs is
	// truly unwanted (removal may proceed).
	complete bool
}

// desiredSet merges every source into one set keyed by lineage name. The
// first source to define a name wins; a later definition with different
// domains is reported as a conflict, one with the same domains adds its
// actions and deliveries. Specs without domains are subscriptions: their
// actions and deliveries join the certificate of that name, wherever it
// is defined.
func (c *Controller) desiredSet(ctx context.Context) desiredSet {
	c.passes.Add(1)
	out := desiredSet{specs: map[string]cert.Spec{}, complete: true}
	var subs []cert.Spec
	for _, s := range c.sources {
		specs, probs, complete := s.Desired(ctx)
		out.problems = append(out.problems, probs...)
		out.complete = out.complete && complete
		for _, sp := range specs {
			if len(sp.Domains) == 0 {
				subs = append(subs, sp)
				continue
			}
			if sp.Profile == "" {
				sp.Profile = c.opts.Profile
			}
			prev, dup := out.specs[sp.Name]
			switch {
			case !dup:
				out.specs[sp.Name] = sp
			case cert.SameDomains(prev.Domains, sp.Domains):
				prev.Actions = append(slices.Clip(prev.Actions), sp.Actions...)
				prev.Deliveries = append(slices.Clip(prev.Deliveries), sp.Deliveries...)
				out.specs[sp.Name] = prev
			default:
				out.problems = append(out.problems, fmt.Errorf("%s: certificate %q conflicts with %s (%s); keeping the latter",
					sp.Source, sp.Name, prev.Source, strings.Join(prev.Domains, " ")))
			}
		}
	}
	for _, sub := range subs {
		target, ok := out.specs[sub.Name]
		if !ok {
			out.problems = append(out.problems, fmt.Errorf("%s: subscribes to certificate %q, which nothing defines", sub.Source, sub.Name))
			continue
		}
		target.Actions = append(slices.Clip(target.Actions), sub.Actions...)
		target.Deliveries = append(slices.Clip(target.Deliveries), sub.Deliveries...)
		out.specs[sub.Name] = target
	}
	return out
}

// Passes returns how many times the desired set was computed (one per
// pass), for tests and benchmarks of event coalescing.
func (c *Controller) Passes() int64 { return c.passes.Load() }

// report logs each source problem at Warn the first time it is seen and
// at Debug while it persists, so a bad label does not flood the log on
// every pass.
func (c *Controller) report(problems []error) {
	seen := map[string]bool{}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range problems {
		msg := p.Error()
		seen[msg] = true
		if c.reported[msg] {
			c.log.Debug("configuration problem persists", "err", p)
		} else {
			c.log.Warn("configuration problem", "err", p)
		}
	}
	c.reported = seen
	c.problems, c.passed = problems, true
}

// specTag fingerprints what of a spec a failure depends on: a failed
// certificate whose names, key type or profile change is retried at once.
func specTag(s cert.Spec) string {
	d := slices.Clone(s.Domains)
	slices.Sort(d)
	return strings.Join(d, ",") + "|" + string(s.KeyType) + "|" + s.Profile
}
