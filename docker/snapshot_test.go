package docker

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// TestSnapshotSelection checks which containers and services Snapshot
// returns, and how it names and sorts them.
func TestSnapshotSelection(t *testing.T) {
	sel := map[string]string{"certdock.domains": "example.com"}
	other := map[string]string{"traefik.enable": "true", "certdockx.domains": "x"}
	ctr := func(id, name string, state container.ContainerState, labels map[string]string) container.Summary {
		return container.Summary{ID: id, Names: []string{"/" + name}, State: state, Labels: labels}
	}
	svc := func(id, name string, labels map[string]string) swarm.Service {
		return swarm.Service{ID: id, Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: name, Labels: labels}}}
	}
	task := map[string]string{"certdock.domains": "t.example.com", swarmServiceLabel: "api"}
	f := &fakeEngine{
		ping: client.PingResult{SwarmStatus: &client.SwarmStatus{NodeState: swarm.LocalNodeStateActive, ControlAvailable: true}},
		list: []container.Summary{
			ctr("c3", "zeta", container.StateExited, sel),
			ctr("c1", "alpha", container.StateRunning, sel),
			ctr("c2", "unlabelled", container.StateRunning, other),
			ctr("c4", "dying", container.StateDead, sel),
			ctr("c5", "leaving", container.StateRemoving, sel),
			ctr("c6", "fresh", container.StateCreated, sel),
			ctr("c7", "api.1.xyz", container.StateRunning, task),
		},
		svc: fakeService{list: []swarm.Service{svc("s2", "web", sel), svc("s1", "api", sel), svc("s3", "db", other)}},
	}
	ws, err := newFakeClient(t, f, "certdock").Snapshot(t.Context())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	want := []Workload{
		{Kind: KindContainer, ID: "c1", Name: "alpha", Labels: sel, State: "running"},
		{Kind: KindContainer, ID: "c7", Name: "api.1.xyz", Labels: task, State: "running", Service: "api"},
		{Kind: KindContainer, ID: "c6", Name: "fresh", Labels: sel, State: "created"},
		{Kind: KindContainer, ID: "c3", Name: "zeta", Labels: sel, State: "exited"},
		{Kind: KindService, ID: "s1", Name: "api", Labels: sel},
		{Kind: KindService, ID: "s2", Name: "web", Labels: sel},
	}
	if !reflect.DeepEqual(ws, want) {
		t.Errorf("Snapshot =\n%+v\nwant\n%+v", ws, want)
	}

	// Without a prefix everything but dead and removing containers.
	ws, err = newFakeClient(t, f, "").Snapshot(t.Context())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if len(ws) != 8 {
		t.Errorf("Snapshot without a prefix = %d workloads, want 8: %+v", len(ws), ws)
	}
}

// TestSnapshotSwarmState checks when Snapshot lists services and when it
// fails rather than report an outage as an empty host.
func TestSnapshotSwarmState(t *testing.T) {
	status := func(state swarm.LocalNodeState, manager bool) *client.SwarmStatus {
		return &client.SwarmStatus{NodeState: state, ControlAvailable: manager}
	}
	info := func(state swarm.LocalNodeState, manager bool) system.Info {
		return system.Info{Swarm: swarm.Info{LocalNodeState: state, ControlAvailable: manager}}
	}
	services := []swarm.Service{{ID: "s1", Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "web"}}}}
	tests := []struct {
		name    string
		pingErr error
		ping    *client.SwarmStatus
		info    system.Info
		infoErr error
		listErr error
		// wantServices is how many services Snapshot returns.
		wantServices int
		// wantInfo tells whether /info is asked (API 1.41 has no Swarm
		// header on the ping).
		wantInfo bool
		wantErr  string
	}{
		{name: "manager, from the ping", ping: status(swarm.LocalNodeStateActive, true), wantServices: 1},
		{name: "worker, from the ping", ping: status(swarm.LocalNodeStateActive, false)},
		{name: "no swarm, from the ping", ping: status(swarm.LocalNodeStateInactive, false)},
		{name: "manager, from info (API 1.41)", info: info(swarm.LocalNodeStateActive, true), wantInfo: true, wantServices: 1},
		{name: "worker, from info", info: info(swarm.LocalNodeStateActive, false), wantInfo: true},
		{name: "no swarm, from info", info: info(swarm.LocalNodeStateInactive, false), wantInfo: true},
		{name: "joining a swarm", info: info(swarm.LocalNodeStatePending, false), wantInfo: true},
		{name: "locked swarm", ping: status(swarm.LocalNodeStateLocked, true), wantErr: "docker: snapshot: the swarm is locked (run docker swarm unlock)"},
		{name: "swarm in error", info: info(swarm.LocalNodeStateError, false), wantInfo: true, wantErr: "docker: snapshot: the swarm is in an error state"},
		{name: "info fails", infoErr: errors.New("EOF"), wantInfo: true, wantErr: "docker: snapshot: swarm state: EOF"},
		{name: "daemon down", pingErr: errors.New("Cannot connect to the Docker daemon"), wantErr: "docker: snapshot: Cannot connect to the Docker daemon"},
		{
			name: "demoted since the ping", ping: status(swarm.LocalNodeStateActive, true),
			listErr: errors.New("This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state."),
		},
		{
			name: "manager without a leader", ping: status(swarm.LocalNodeStateActive, true),
			listErr: errors.New("rpc error: code = Unknown desc = The swarm does not have a leader."),
			wantErr: "docker: snapshot: list services: rpc error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEngine{
				pings: []error{tt.pingErr},
				ping:  client.PingResult{SwarmStatus: tt.ping},
				info:  tt.info, infoErr: tt.infoErr,
				svc: fakeService{list: services, listErr: tt.listErr},
			}
			ws, err := newFakeClient(t, f, "").Snapshot(t.Context())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Snapshot = %+v, %v; want an error containing %q", ws, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			if len(ws) != tt.wantServices {
				t.Errorf("Snapshot = %+v, want %d services", ws, tt.wantServices)
			}
			calls := f.methods()
			if asked := strings.Contains(strings.Join(calls, ","), "Info"); asked != tt.wantInfo {
				t.Errorf("calls = %q; /info asked: %t, want %t", calls, asked, tt.wantInfo)
			}
		})
	}
}

// TestSnapshotListFails checks that a failed container listing fails the
// snapshot.
func TestSnapshotListFails(t *testing.T) {
	f := &fakeEngine{listErr: errors.New("EOF")}
	if ws, err := newFakeClient(t, f, "").Snapshot(t.Context()); err == nil || err.Error() != "docker: snapshot: list containers: EOF" {
		t.Errorf("Snapshot = %+v, %v; want the listing's error", ws, err)
	}
}

func TestContainerName(t *testing.T) {
	const id = "0123456789abcdef0123"
	tests := []struct {
		name  string
		names []string
		want  string
	}{
		{name: "one name", names: []string{"/web"}, want: "web"},
		{name: "legacy link aliases first", names: []string{"/proxy/web", "/web"}, want: "web"},
		{name: "only aliases", names: []string{"/proxy/web"}, want: "proxy/web"},
		{name: "no names", want: "0123456789ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := containerName(tt.names, id); got != tt.want {
				t.Errorf("containerName(%q) = %q, want %q", tt.names, got, tt.want)
			}
		})
	}
}
