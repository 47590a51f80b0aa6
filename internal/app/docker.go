package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/deliver"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/internal/ops"
	"github.com/certdock/certdock/labels"
)

// Docker is what certdock needs from the Docker engine: a snapshot of the
// labelled workloads, an event watch, actions, and whether the connection
// is up (for /healthz).
type Docker interface {
	Snapshot(ctx context.Context) ([]docker.Workload, error)
	Watch(ctx context.Context, h docker.Handler)
	Act(ctx context.Context, actions []cert.Action) []error
	Healthy() bool
	// The Swarm calls of secrets delivery.
	deliver.Engine
}

var _ Docker = (*docker.Client)(nil)

// ExtraLabelPrefixes are the label prefixes, besides CERTDOCK_LABEL_PREFIX,
// whose workloads the Docker client must list and watch: "traefik" with
// CERTDOCK_TRAEFIK_LABELS.
func ExtraLabelPrefixes(cfg *config.Config) []string {
	if cfg.TraefikLabels {
		return []string{"traefik"}
	}
	return nil
}

// labelSource turns the labels of running containers and services into
// desired certificates. When the engine cannot be listed, the last good
// snapshot is served (no certificate is dropped because Docker hiccuped)
// and the listing is retried with backoff until it succeeds.
type labelSource struct {
	docker  Docker
	prefix  string
	allowed *labels.Allowlist
	traefik bool // CERTDOCK_TRAEFIK_LABELS: Traefik's TLS routers too
	log     *slog.Logger
	retry   func() // asks for another pass

	mu      sync.Mutex
	last    []docker.Workload
	failing int
	timer   *time.Timer
}

// Desired implements controller.Source. The labels are complete even
// while Docker cannot be listed: the last known ones are served, and
// label certificates are only removed after their grace period.
func (s *labelSource) Desired(ctx context.Context) ([]cert.Spec, []error, bool) {
	ws, err := s.docker.Snapshot(ctx)
	s.mu.Lock()
	if err != nil {
		s.failing++
		wait := min(time.Second<<min(s.failing-1, 5), 30*time.Second)
		if s.failing == 1 {
			s.log.Warn("cannot list Docker workloads: serving the last known labels, retrying", "err", err, "retry_in", wait)
		} else {
			s.log.Debug("Docker listing still failing", "err", err, "retry_in", wait)
		}
		if s.retry != nil && s.timer == nil {
			s.timer = time.AfterFunc(wait, func() {
				s.mu.Lock()
				s.timer = nil
				s.mu.Unlock()
				s.retry()
			})
		}
		ws = s.last
	} else {
		if s.failing > 0 {
			s.log.Info("Docker listing works again", "workloads", len(ws))
		}
		s.failing, s.last = 0, ws
	}
	s.mu.Unlock()

	var specs []cert.Spec
	var problems []error
	for _, w := range ws {
		if w.State == "created" {
			continue // never started: served once it starts
		}
		sp, probs := labels.ParseWith(s.prefix, labels.Workload{Kind: labels.Kind(w.Kind), Name: w.Name, Labels: w.Labels},
			labels.Options{Allowed: s.allowed, Traefik: s.traefik})
		specs = append(specs, sp...)
		problems = append(problems, probs...)
	}
	return specs, problems, true
}

// watchHandler marks the world dirty on every relevant event and after
// every (re)connection, where a full resync is due.
type watchHandler struct {
	trigger func()
	log     *slog.Logger
	metrics *ops.Metrics
}

// Connected triggers the full resync due after every (re)connection.
func (h watchHandler) Connected() {
	h.log.Info("connected to Docker: full resync")
	h.trigger()
}

// Event triggers a pass for the events that can change the desired set
// or need a certificate: a container started, removed, renamed or
// updated, any service change. Creation (a container is only served once
// started), death and pauses change nothing.
func (h watchHandler) Event(e docker.Event) {
	h.metrics.ObserveDockerEvent(string(e.Kind), e.Action)
	relevant := e.Kind == docker.KindService
	switch e.Action {
	case "start", "destroy", "rename", "update":
		relevant = true
	}
	h.log.Debug("docker event", "kind", e.Kind, "action", e.Action, "name", e.Name, "relevant", relevant)
	if relevant {
		h.trigger()
	}
}
