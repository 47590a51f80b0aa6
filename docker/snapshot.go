package docker

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// Kind tells containers from Swarm services.
type Kind string

// The kinds of workload.
const (
	KindContainer Kind = "container"
	KindService   Kind = "service"
)

// swarmServiceLabel is the label Swarm puts on the containers of a
// service's tasks.
const swarmServiceLabel = "com.docker.swarm.service.name"

// Workload is a container or a Swarm service as Snapshot sees it.
type Workload struct {
	Kind Kind
	// ID is the full container or service ID.
	ID string
	// Name is the container name without its leading "/", or the service
	// name.
	Name string
	// Labels are the container's labels, or the service's own labels
	// (Spec.Labels, which compose files set with deploy.labels). The map
	// belongs to the caller.
	Labels map[string]string
	// State is the container's state as the daemon reports it ("created",
	// "running", "paused", "restarting", "exited"); empty for services.
	State string
	// Service is, for a container that runs a Swarm task, the name of its
	// service (label com.docker.swarm.service.name); empty otherwise.
	Service string
}

// Snapshot lists the selected workloads (see Options.LabelPrefix), sorted
// by kind ("container" before "service") and then name.
//
// Containers are listed whatever their state except "dead" and
// "removing": a stopped container still declares the certificate it
// needs, and one that exited because its certificate did not exist yet
// must get it (State tells them apart). Services are listed only when this
// node is a Swarm manager; on a node outside a swarm or a worker there are
// none, which is not an error. Snapshot fails when the daemon cannot be
// reached or a listing fails, so that a caller never mistakes an outage
// for an empty host.
func (c *Client) Snapshot(ctx context.Context) ([]Workload, error) {
	ping, err := c.api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		return nil, fmt.Errorf("docker: snapshot: %w", err)
	}
	list, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("docker: snapshot: list containers: %w", err)
	}
	var out []Workload
	for _, ct := range list.Items {
		if ct.State == container.StateDead || ct.State == container.StateRemoving || !c.selected(ct.Labels) {
			continue
		}
		out = append(out, Workload{
			Kind:    KindContainer,
			ID:      ct.ID,
			Name:    containerName(ct.Names, ct.ID),
			Labels:  ct.Labels,
			State:   string(ct.State),
			Service: ct.Labels[swarmServiceLabel],
		})
	}

	manager, err := c.swarmManager(ctx, ping)
	if err != nil {
		return nil, fmt.Errorf("docker: snapshot: %w", err)
	}
	if manager {
		svcs, err := c.api.ServiceList(ctx, client.ServiceListOptions{})
		switch {
		case err != nil && strings.Contains(err.Error(), "not a swarm manager"):
			// The node left the swarm (or was demoted) since /info.
			svcs.Items = nil
		case err != nil:
			// Among others, a manager without a leader: its services
			// exist, so "none" would be wrong.
			return nil, fmt.Errorf("docker: snapshot: list services: %w", err)
		}
		for _, s := range svcs.Items {
			if !c.selected(s.Spec.Labels) {
				continue
			}
			out = append(out, Workload{Kind: KindService, ID: s.ID, Name: s.Spec.Name, Labels: s.Spec.Labels})
		}
	}
	slices.SortFunc(out, func(a, b Workload) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// swarmManager reports whether the daemon is an active Swarm manager, and
// fails when it is a locked or broken one. API 1.42 and later say so in the
// ping's Swarm header; older daemons (20.10) need /info.
func (c *Client) swarmManager(ctx context.Context, ping client.PingResult) (bool, error) {
	state, control := swarm.LocalNodeState(""), false
	if s := ping.SwarmStatus; s != nil {
		state, control = s.NodeState, s.ControlAvailable
	} else {
		info, err := c.api.Info(ctx, client.InfoOptions{})
		if err != nil {
			return false, fmt.Errorf("swarm state: %w", err)
		}
		state, control = info.Info.Swarm.LocalNodeState, info.Info.Swarm.ControlAvailable
	}
	switch state {
	case swarm.LocalNodeStateActive:
		return control, nil
	case swarm.LocalNodeStateLocked:
		// Its services exist but cannot be listed: saying "none" would
		// make them look removed.
		return false, fmt.Errorf("the swarm is locked (run docker swarm unlock)")
	case swarm.LocalNodeStateError:
		return false, fmt.Errorf("the swarm is in an error state")
	}
	return false, nil
}

// containerName picks the container's own name from the list the daemon
// returns ("/web", plus "/other/alias" for legacy links); it falls back to
// the short ID.
func containerName(names []string, id string) string {
	for _, n := range names {
		n = strings.TrimPrefix(n, "/")
		if n != "" && !strings.Contains(n, "/") {
			return n
		}
	}
	if len(names) > 0 {
		return strings.TrimPrefix(names[0], "/")
	}
	return id[:min(12, len(id))]
}
