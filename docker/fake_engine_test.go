package docker

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

var _ engine = (*fakeEngine)(nil)

// fakeEngine is an engine without a daemon. The tests set what its calls
// return in its fields; it records every call (with the time left on the
// call's context) and what the calls that change something received. Like
// the SDK, it fails a call whose context has ended. It is safe for
// concurrent use: Watch pings from a second goroutine.
type fakeEngine struct {
	mu    sync.Mutex
	calls []fakeCall

	// Containers. ContainerInspect looks names and IDs up in containers
	// (others are not found) unless inspectErr is set.
	list       []container.Summary
	listErr    error
	containers map[string]container.InspectResponse
	inspectErr error
	restartErr error
	killErr    error
	restarts   []client.ContainerRestartOptions
	kills      []client.ContainerKillOptions

	exec    fakeExec
	svc     fakeService
	secrets fakeSecrets
	configs fakeConfigs
	// cancel is called where a fakeProgress asks for it.
	cancel context.CancelFunc

	// System. The i-th Ping fails with pings[i] when that is set, else
	// returns ping; the i-th Events subscription follows streams[i], past
	// the end one that stays open.
	pings     []error
	pinged    int
	ping      client.PingResult
	info      system.Info
	infoErr   error
	streams   []fakeStream
	subscribe int
}

// fakeCall is one call to the fake: "ServiceInspect" "web" 5m0s.
type fakeCall struct {
	method, target string
	at             time.Time
	// timeout is the time left on the call's context, 0 without a
	// deadline (exact under testing/synctest).
	timeout time.Duration
}

// fakeExec scripts the one command the tests run.
type fakeExec struct {
	createErr, attachErr, inspectErr error
	// output is the multiplexed stream ExecAttach returns (see frame).
	output []byte
	// hang keeps the stream open after output, as a command that runs on.
	hang bool
	// running is how many ExecInspect calls see the command still running
	// before it reports exitCode.
	running  int
	exitCode int

	created   []client.ExecCreateOptions
	inspected int
}

// fakeService scripts one Swarm service through a force-update.
type fakeService struct {
	// service is what ServiceInspect returns until an update succeeds;
	// nil means there is no such service.
	service *swarm.Service
	// racing is how many ServiceUpdate calls another writer beats: it
	// updates the service first, so their version is stale.
	racing int
	// updateErr fails every ServiceUpdate that is not beaten.
	updateErr error
	// progress is what the inspections after the update see, one entry
	// each, the last repeating; empty keeps the status from before.
	progress []fakeProgress

	list    []swarm.Service
	listErr error

	updates  []client.ServiceUpdateOptions
	taskOpts []client.TaskListOptions
	updated  bool
	polls    int
	cur      fakeProgress
}

// fakeSecrets is Swarm's secret store. Like Swarm, it ignores case in
// names, SecretCreate refuses a name in use, SecretList filters by name
// prefix and by label, and
// SecretRemove refuses a secret that the spec (not the previous spec) of a
// service in fakeService.list refers to.
type fakeSecrets struct {
	items []swarm.Secret
	// createErr, listErr and removeErr fail every such call; inspectErr
	// fails SecretInspect unless it is nil.
	createErr, listErr, inspectErr, removeErr error
	// vanish removes the secret named so as a create of that name fails,
	// as if another writer removed it right then.
	vanish string
	// ignoreFilters makes SecretList return every secret, as a daemon
	// that does not know a filter would.
	ignoreFilters bool

	creates []client.SecretCreateOptions
	lists   []client.SecretListOptions
	removed []string
}

// fakeProgress is the state of a service update at one inspection.
type fakeProgress struct {
	status     *swarm.UpdateStatus
	tasks      []swarm.Task
	inspectErr error
	tasksErr   error
	// cancelInspect and cancelTasks call the fake's cancel as the
	// inspection or the task listing starts, as if the caller gave up
	// while the request was under way.
	cancelInspect, cancelTasks bool
}

// fakeStream scripts one event subscription.
type fakeStream struct {
	// err fails the subscription.
	err error
	// messages are sent in order, then end ends the stream; a nil end
	// keeps it open until its context ends.
	messages []events.Message
	end      error
}

// newFakeClient returns a Client whose engine is f, logging to t.
func newFakeClient(t testing.TB, f *fakeEngine, prefix string) *Client {
	return newClient(f, Options{Logger: testLogger(t), LabelPrefix: prefix})
}

// record logs a call and returns the context's error, which the call then
// returns as the SDK would.
func (f *fakeEngine) record(ctx context.Context, method, target string) error {
	c := fakeCall{method: method, target: target, at: time.Now()}
	if d, ok := ctx.Deadline(); ok {
		c.timeout = time.Until(d)
	}
	f.calls = append(f.calls, c)
	return ctx.Err()
}

// methods returns the calls made so far as "Method target".
func (f *fakeEngine) methods() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.method+" "+c.target)
	}
	return out
}

// times returns when method was called.
func (f *fakeEngine) times(method string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []time.Time
	for _, c := range f.calls {
		if c.method == method {
			out = append(out, c.at)
		}
	}
	return out
}

// timeoutOf returns the time left on the context of the first call to
// method, and whether there was such a call.
func (f *fakeEngine) timeoutOf(method string) (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.calls, func(c fakeCall) bool { return c.method == method })
	if i < 0 {
		return 0, false
	}
	return f.calls[i].timeout, true
}

// notFound is the daemon's answer about a missing object.
func notFound(object, name string) error {
	return fmt.Errorf("No such %s: %s: %w", object, name, cerrdefs.ErrNotFound)
}

// notRunning is the daemon's answer about a stopped container.
func notRunning(name string) error {
	return fmt.Errorf("Container %s is not running: %w", name, cerrdefs.ErrConflict)
}

// frame encodes text as one frame of a multiplexed exec stream.
func frame(stream stdcopy.StdType, text string) []byte {
	b := make([]byte, 8, 8+len(text))
	b[0] = byte(stream)
	binary.BigEndian.PutUint32(b[4:], uint32(len(text)))
	return append(b, text...)
}

// ContainerList implements engine.
func (f *fakeEngine) ContainerList(ctx context.Context, _ client.ContainerListOptions) (client.ContainerListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ContainerList", ""); err != nil {
		return client.ContainerListResult{}, err
	}
	return client.ContainerListResult{Items: f.list}, f.listErr
}

// ContainerInspect implements engine.
func (f *fakeEngine) ContainerInspect(ctx context.Context, name string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ContainerInspect", name); err != nil {
		return client.ContainerInspectResult{}, err
	}
	if f.inspectErr != nil {
		return client.ContainerInspectResult{}, f.inspectErr
	}
	ct, ok := f.containers[name]
	if !ok {
		return client.ContainerInspectResult{}, notFound("container", name)
	}
	return client.ContainerInspectResult{Container: ct}, nil
}

// ContainerRestart implements engine.
func (f *fakeEngine) ContainerRestart(ctx context.Context, name string, opts client.ContainerRestartOptions) (client.ContainerRestartResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ContainerRestart", name); err != nil {
		return client.ContainerRestartResult{}, err
	}
	f.restarts = append(f.restarts, opts)
	return client.ContainerRestartResult{}, f.restartErr
}

// ContainerKill implements engine.
func (f *fakeEngine) ContainerKill(ctx context.Context, name string, opts client.ContainerKillOptions) (client.ContainerKillResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ContainerKill", name); err != nil {
		return client.ContainerKillResult{}, err
	}
	f.kills = append(f.kills, opts)
	return client.ContainerKillResult{}, f.killErr
}

// ExecCreate implements engine.
func (f *fakeEngine) ExecCreate(ctx context.Context, name string, opts client.ExecCreateOptions) (client.ExecCreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ExecCreate", name); err != nil {
		return client.ExecCreateResult{}, err
	}
	f.exec.created = append(f.exec.created, opts)
	if f.exec.createErr != nil {
		return client.ExecCreateResult{}, f.exec.createErr
	}
	return client.ExecCreateResult{ID: "exec1"}, nil
}

// ExecAttach implements engine: the stream is one end of a pipe that a
// goroutine writes the scripted output to, then closes (unless hang; it
// then waits for the reader to close its end).
func (f *fakeEngine) ExecAttach(ctx context.Context, id string, _ client.ExecAttachOptions) (client.ExecAttachResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ExecAttach", id); err != nil {
		return client.ExecAttachResult{}, err
	}
	if f.exec.attachErr != nil {
		return client.ExecAttachResult{}, f.exec.attachErr
	}
	ours, theirs := net.Pipe()
	output, hang := f.exec.output, f.exec.hang
	go func() {
		defer theirs.Close()
		if _, err := theirs.Write(output); err != nil {
			return
		}
		if hang {
			_, _ = io.Copy(io.Discard, theirs)
		}
	}()
	return client.ExecAttachResult{HijackedResponse: client.NewHijackedResponse(ours, "application/vnd.docker.multiplexed-stream")}, nil
}

// ExecInspect implements engine.
func (f *fakeEngine) ExecInspect(ctx context.Context, id string, _ client.ExecInspectOptions) (client.ExecInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ExecInspect", id); err != nil {
		return client.ExecInspectResult{}, err
	}
	if f.exec.inspectErr != nil {
		return client.ExecInspectResult{}, f.exec.inspectErr
	}
	f.exec.inspected++
	if f.exec.inspected <= f.exec.running {
		return client.ExecInspectResult{ID: id, Running: true}, nil
	}
	return client.ExecInspectResult{ID: id, ExitCode: f.exec.exitCode}, nil
}

// ServiceList implements engine.
func (f *fakeEngine) ServiceList(ctx context.Context, _ client.ServiceListOptions) (client.ServiceListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ServiceList", ""); err != nil {
		return client.ServiceListResult{}, err
	}
	return client.ServiceListResult{Items: f.svc.list}, f.svc.listErr
}

// ServiceInspect implements engine: before a successful update it returns
// the service as scripted, after it the next step of its progress.
func (f *fakeEngine) ServiceInspect(ctx context.Context, name string, _ client.ServiceInspectOptions) (client.ServiceInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ServiceInspect", name); err != nil {
		return client.ServiceInspectResult{}, err
	}
	s := f.svc.service
	if s == nil || (name != s.ID && name != s.Spec.Name) {
		return client.ServiceInspectResult{}, notFound("service", name)
	}
	svc := *s
	if f.svc.updated && len(f.svc.progress) > 0 {
		f.svc.cur = f.svc.progress[min(f.svc.polls, len(f.svc.progress)-1)]
		f.svc.polls++
		if f.svc.cur.cancelInspect {
			f.cancel()
			return client.ServiceInspectResult{}, ctx.Err()
		}
		if f.svc.cur.inspectErr != nil {
			return client.ServiceInspectResult{}, f.svc.cur.inspectErr
		}
		svc.UpdateStatus = f.svc.cur.status
	}
	return client.ServiceInspectResult{Service: svc}, nil
}

// ServiceUpdate implements engine, refusing a stale version as Swarm does.
func (f *fakeEngine) ServiceUpdate(ctx context.Context, id string, opts client.ServiceUpdateOptions) (client.ServiceUpdateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "ServiceUpdate", id); err != nil {
		return client.ServiceUpdateResult{}, err
	}
	f.svc.updates = append(f.svc.updates, opts)
	s := f.svc.service
	if s == nil || id != s.ID {
		return client.ServiceUpdateResult{}, notFound("service", id)
	}
	if f.svc.racing > 0 {
		f.svc.racing--
		s.Version.Index++
	}
	if opts.Version.Index != s.Version.Index {
		return client.ServiceUpdateResult{}, fmt.Errorf("rpc error: code = Unknown desc = update out of sequence")
	}
	if f.svc.updateErr != nil {
		return client.ServiceUpdateResult{}, f.svc.updateErr
	}
	prev := s.Spec
	s.PreviousSpec = &prev
	s.Spec = opts.Spec
	s.Version.Index++
	f.svc.updated = true
	return client.ServiceUpdateResult{}, nil
}

// TaskList implements engine: the tasks of the latest inspection's step.
func (f *fakeEngine) TaskList(ctx context.Context, opts client.TaskListOptions) (client.TaskListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.svc.cur.cancelTasks {
		f.cancel()
	}
	if err := f.record(ctx, "TaskList", ""); err != nil {
		return client.TaskListResult{}, err
	}
	f.svc.taskOpts = append(f.svc.taskOpts, opts)
	return client.TaskListResult{Items: f.svc.cur.tasks}, f.svc.cur.tasksErr
}

// SecretCreate implements engine.
func (f *fakeEngine) SecretCreate(ctx context.Context, opts client.SecretCreateOptions) (client.SecretCreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := opts.Spec.Name
	if err := f.record(ctx, "SecretCreate", name); err != nil {
		return client.SecretCreateResult{}, err
	}
	if f.secrets.createErr != nil {
		return client.SecretCreateResult{}, f.secrets.createErr
	}
	same := func(s swarm.Secret) bool { return strings.EqualFold(s.Spec.Name, name) }
	if slices.ContainsFunc(f.secrets.items, same) {
		if f.secrets.vanish == name {
			f.secrets.items = slices.DeleteFunc(f.secrets.items, same)
		}
		return client.SecretCreateResult{}, fmt.Errorf("rpc error: code = AlreadyExists desc = secret %s already exists: %w", name, cerrdefs.ErrConflict)
	}
	f.secrets.creates = append(f.secrets.creates, opts)
	id := fmt.Sprintf("newsecret%d", len(f.secrets.creates))
	spec := opts.Spec
	spec.Data = nil // never returned
	f.secrets.items = append(f.secrets.items, swarm.Secret{ID: id, Meta: swarm.Meta{CreatedAt: time.Now()}, Spec: spec})
	return client.SecretCreateResult{ID: id}, nil
}

// SecretList implements engine: a secret matches when its name starts with
// one of the name filters (if any) and it has every label filter ("key"
// or "key=value").
func (f *fakeEngine) SecretList(ctx context.Context, opts client.SecretListOptions) (client.SecretListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "SecretList", ""); err != nil {
		return client.SecretListResult{}, err
	}
	f.secrets.lists = append(f.secrets.lists, opts)
	if f.secrets.listErr != nil {
		return client.SecretListResult{}, f.secrets.listErr
	}
	var out []swarm.Secret
	for _, s := range f.secrets.items {
		if f.secrets.ignoreFilters || secretMatches(s, opts.Filters) {
			out = append(out, s)
		}
	}
	return client.SecretListResult{Items: out}, nil
}

// secretMatches applies Swarm's name-prefix and label filters.
func secretMatches(s swarm.Secret, filters client.Filters) bool {
	if names := filters["name"]; len(names) > 0 {
		ok := false
		for n := range names {
			ok = ok || strings.HasPrefix(strings.ToLower(s.Spec.Name), strings.ToLower(n))
		}
		if !ok {
			return false
		}
	}
	for l := range filters["label"] {
		k, v, hasValue := strings.Cut(l, "=")
		got, ok := s.Spec.Labels[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}

// SecretInspect implements engine, looking the secret up as the daemon
// does: by ID, by name, then by ID prefix.
func (f *fakeEngine) SecretInspect(ctx context.Context, id string, _ client.SecretInspectOptions) (client.SecretInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "SecretInspect", id); err != nil {
		return client.SecretInspectResult{}, err
	}
	if f.secrets.inspectErr != nil {
		return client.SecretInspectResult{}, f.secrets.inspectErr
	}
	for _, match := range []func(swarm.Secret) bool{
		func(s swarm.Secret) bool { return s.ID == id },
		func(s swarm.Secret) bool { return strings.EqualFold(s.Spec.Name, id) },
		func(s swarm.Secret) bool { return strings.HasPrefix(s.ID, id) },
	} {
		if i := slices.IndexFunc(f.secrets.items, match); i >= 0 {
			return client.SecretInspectResult{Secret: f.secrets.items[i]}, nil
		}
	}
	return client.SecretInspectResult{}, notFound("secret", id)
}

// SecretRemove implements engine.
func (f *fakeEngine) SecretRemove(ctx context.Context, id string, _ client.SecretRemoveOptions) (client.SecretRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "SecretRemove", id); err != nil {
		return client.SecretRemoveResult{}, err
	}
	if f.secrets.removeErr != nil {
		return client.SecretRemoveResult{}, f.secrets.removeErr
	}
	i := slices.IndexFunc(f.secrets.items, func(s swarm.Secret) bool { return s.ID == id })
	if i < 0 {
		return client.SecretRemoveResult{}, notFound("secret", id)
	}
	for _, svc := range f.svc.list {
		if cs := svc.Spec.TaskTemplate.ContainerSpec; cs != nil &&
			slices.ContainsFunc(cs.Secrets, func(r *swarm.SecretReference) bool { return r.SecretID == id }) {
			return client.SecretRemoveResult{}, fmt.Errorf("rpc error: code = InvalidArgument desc = secret '%s' is in use by the following service: %s: %w",
				f.secrets.items[i].Spec.Name, svc.Spec.Name, cerrdefs.ErrInvalidArgument)
		}
	}
	f.secrets.removed = append(f.secrets.removed, id)
	f.secrets.items = slices.Delete(f.secrets.items, i, i+1)
	return client.SecretRemoveResult{}, nil
}

// Ping implements engine.
func (f *fakeEngine) Ping(ctx context.Context, _ client.PingOptions) (client.PingResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "Ping", ""); err != nil {
		return client.PingResult{}, err
	}
	n := f.pinged
	f.pinged++
	if n < len(f.pings) && f.pings[n] != nil {
		return client.PingResult{}, f.pings[n]
	}
	return f.ping, nil
}

// Info implements engine.
func (f *fakeEngine) Info(ctx context.Context, _ client.InfoOptions) (client.SystemInfoResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(ctx, "Info", ""); err != nil {
		return client.SystemInfoResult{}, err
	}
	return client.SystemInfoResult{Info: f.info}, f.infoErr
}

// Events implements engine like the SDK: it returns once the subscription
// is answered, sends one error (the context's when it ends) and closes the
// error channel.
func (f *fakeEngine) Events(ctx context.Context, _ client.EventsListOptions) client.EventsResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	msgs, errs := make(chan events.Message), make(chan error, 1)
	res := client.EventsResult{Messages: msgs, Err: errs}
	if err := f.record(ctx, "Events", ""); err != nil {
		errs <- err
		close(errs)
		return res
	}
	var s fakeStream
	if f.subscribe < len(f.streams) {
		s = f.streams[f.subscribe]
	}
	f.subscribe++
	if s.err != nil {
		errs <- s.err
		close(errs)
		return res
	}
	go func() {
		defer close(errs)
		for _, m := range s.messages {
			select {
			case msgs <- m:
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			}
		}
		if s.end != nil {
			errs <- s.end
			return
		}
		<-ctx.Done()
		errs <- ctx.Err()
	}()
	return res
}

// DaemonHost implements engine.
func (f *fakeEngine) DaemonHost() string { return "unix:///fake/docker.sock" }

// ClientVersion implements engine.
func (f *fakeEngine) ClientVersion() string { return "1.41" }

// Close implements engine.
func (f *fakeEngine) Close() error { return nil }
