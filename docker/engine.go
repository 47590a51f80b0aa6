package docker

import (
	"context"

	"github.com/moby/moby/client"
)

// engine is the part of the Docker SDK this package calls, and nothing
// more: each method is one of client.APIClient's, with the same signature.
// A Client holds an engine rather than a *client.Client so that its
// decisions (what to restart, when a service update has converged, what an
// exec's exit code means, when a secret is in use) are unit-tested against
// a fake; the end-to-end tests then prove the wiring against a real daemon.
//
// It is not client.APIClient itself: that interface has over a hundred
// methods, so a fake of it would either stub them all or embed the
// interface and panic on the unexpected ones, and it would no longer say
// which calls this package depends on.
type engine interface {
	containerAPI
	execAPI
	serviceAPI
	secretAPI
	configAPI
	systemAPI
	connAPI
}

// containerAPI lists, inspects, restarts and signals containers.
type containerAPI interface {
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerInspect(ctx context.Context, container string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerRestart(ctx context.Context, container string, options client.ContainerRestartOptions) (client.ContainerRestartResult, error)
	ContainerKill(ctx context.Context, container string, options client.ContainerKillOptions) (client.ContainerKillResult, error)
}

// execAPI runs a command in a container.
type execAPI interface {
	ExecCreate(ctx context.Context, container string, options client.ExecCreateOptions) (client.ExecCreateResult, error)
	ExecAttach(ctx context.Context, execID string, options client.ExecAttachOptions) (client.ExecAttachResult, error)
	ExecInspect(ctx context.Context, execID string, options client.ExecInspectOptions) (client.ExecInspectResult, error)
}

// serviceAPI lists, inspects and updates Swarm services and their tasks.
type serviceAPI interface {
	ServiceList(ctx context.Context, options client.ServiceListOptions) (client.ServiceListResult, error)
	ServiceInspect(ctx context.Context, serviceID string, options client.ServiceInspectOptions) (client.ServiceInspectResult, error)
	ServiceUpdate(ctx context.Context, serviceID string, options client.ServiceUpdateOptions) (client.ServiceUpdateResult, error)
	TaskList(ctx context.Context, options client.TaskListOptions) (client.TaskListResult, error)
}

// secretAPI creates, lists, inspects and removes Swarm secrets.
type secretAPI interface {
	SecretCreate(ctx context.Context, options client.SecretCreateOptions) (client.SecretCreateResult, error)
	SecretList(ctx context.Context, options client.SecretListOptions) (client.SecretListResult, error)
	SecretInspect(ctx context.Context, id string, options client.SecretInspectOptions) (client.SecretInspectResult, error)
	SecretRemove(ctx context.Context, id string, options client.SecretRemoveOptions) (client.SecretRemoveResult, error)
}

// configAPI creates, lists, inspects, updates and removes Swarm configs.
type configAPI interface {
	ConfigCreate(ctx context.Context, options client.ConfigCreateOptions) (client.ConfigCreateResult, error)
	ConfigList(ctx context.Context, options client.ConfigListOptions) (client.ConfigListResult, error)
	ConfigInspect(ctx context.Context, id string, options client.ConfigInspectOptions) (client.ConfigInspectResult, error)
	ConfigUpdate(ctx context.Context, id string, options client.ConfigUpdateOptions) (client.ConfigUpdateResult, error)
	ConfigRemove(ctx context.Context, id string, options client.ConfigRemoveOptions) (client.ConfigRemoveResult, error)
}

// systemAPI asks the daemon about itself and follows its events.
type systemAPI interface {
	Ping(ctx context.Context, options client.PingOptions) (client.PingResult, error)
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
}

// connAPI describes and releases the connection.
type connAPI interface {
	DaemonHost() string
	ClientVersion() string
	Close() error
}

// Every SDK client, and the SDK's own, is an engine.
var (
	_ engine = client.APIClient(nil)
	_ engine = (*client.Client)(nil)
)
