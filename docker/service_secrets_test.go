package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
)

// The secrets of the UpdateServiceSecrets tests: version 1 is mounted,
// version 2 replaces it, version 0 is in the previous spec, and an
// unrelated secret stays.
var (
	secV0 = testSecret("idv0", "example.com-v0", ownLabels)
	secV1 = testSecret("idv1", "example.com-v1", ownLabels)
	secV2 = testSecret("idv2", "example.com-v2", ownLabels)
	secDB = testSecret("iddb", "db-password", map[string]string{"owner": "ops"})
)

// fileRef returns the reference mounting s at file, root-owned, mode 0440.
func fileRef(s swarm.Secret, file string) *swarm.SecretReference {
	return &swarm.SecretReference{
		SecretID: s.ID, SecretName: s.Spec.Name,
		File: &swarm.SecretReferenceFileTarget{Name: file, UID: "0", GID: "101", Mode: 0o440},
	}
}

// richSpec returns a service spec that sets much besides secrets, mounting
// cert at example.com/fullchain.pem and the unrelated secret.
func richSpec(cert swarm.Secret) swarm.ServiceSpec {
	two := uint64(2)
	stop := 20 * time.Second
	init := true
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: svcName, Labels: map[string]string{"certdock.domains": "example.com", "team": "web"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:           "registry.example/nginx:1.29@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				Labels:          map[string]string{"c": "1"},
				Command:         []string{"nginx"},
				Args:            []string{"-g", "daemon off;"},
				Env:             []string{"A=1", "B=2"},
				Dir:             "/srv",
				User:            "101",
				Init:            &init,
				StopGracePeriod: &stop,
				Mounts:          []mount.Mount{{Type: mount.TypeVolume, Source: "data", Target: "/data"}},
				Healthcheck:     &container.HealthConfig{Test: []string{"CMD", "true"}, Interval: time.Second},
				Secrets:         []*swarm.SecretReference{fileRef(secDB, "db"), fileRef(cert, "example.com/fullchain.pem")},
				Configs: []*swarm.ConfigReference{{
					ConfigID: "cfg1", ConfigName: "nginx.conf",
					File: &swarm.ConfigReferenceFileTarget{Name: "/etc/nginx/nginx.conf", UID: "0", GID: "0", Mode: 0o444},
				}},
				Sysctls: map[string]string{"net.core.somaxconn": "1024"},
			},
			Resources:     &swarm.ResourceRequirements{Limits: &swarm.Limit{MemoryBytes: 64 << 20}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure},
			Placement:     &swarm.Placement{Constraints: []string{"node.role==worker"}},
			Networks:      []swarm.NetworkAttachmentConfig{{Target: "frontend", Aliases: []string{"web"}}},
			LogDriver:     &swarm.Driver{Name: "json-file", Options: map[string]string{"max-size": "10m"}},
			ForceUpdate:   svcForce,
		},
		Mode:           swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &two}},
		UpdateConfig:   &swarm.UpdateConfig{Parallelism: 1, Delay: time.Second, FailureAction: "rollback", Order: "start-first"},
		RollbackConfig: &swarm.UpdateConfig{Parallelism: 2, Order: "stop-first"},
		EndpointSpec:   &swarm.EndpointSpec{Ports: []swarm.PortConfig{{Protocol: "tcp", TargetPort: 443, PublishedPort: 8443}}},
	}
}

// secretsService returns the service mounting version 1, whose previous
// spec mounted version 0.
func secretsService() *swarm.Service {
	prev := richSpec(secV0)
	return &swarm.Service{
		ID:           svcID,
		Meta:         swarm.Meta{Version: swarm.Version{Index: svcVersion}},
		Spec:         richSpec(secV1),
		PreviousSpec: &prev,
	}
}

// v2Refs are the references that swap version 1 for version 2, as the
// caller passes them (IDs unknown).
func v2Refs() []SecretRef {
	return []SecretRef{
		{SecretName: "db-password", File: "db", UID: "0", GID: "101", Mode: 0o440},
		{SecretName: "example.com-v2", File: "example.com/fullchain.pem", UID: "0", GID: "101", Mode: 0o440},
	}
}

// secretsEngine returns a fake holding secretsService and the secrets.
func secretsEngine(progress []fakeProgress) *fakeEngine {
	return &fakeEngine{
		svc:     fakeService{service: secretsService(), progress: progress},
		secrets: fakeSecrets{items: []swarm.Secret{secV0, secV1, secV2, secDB}},
	}
}

// secretsTask returns a task of the service mounting cert, in state.
func secretsTask(cert swarm.Secret, state swarm.TaskState) swarm.Task {
	spec := richSpec(cert).TaskTemplate
	return swarm.Task{ServiceID: svcID, Spec: spec, Status: swarm.TaskStatus{State: state}, DesiredState: swarm.TaskStateRunning}
}

// mustJSON encodes v.
func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestServiceSecrets(t *testing.T) {
	want := ServiceSecrets{
		ID: svcID, Name: svcName, Version: svcVersion,
		Labels: map[string]string{"certdock.domains": "example.com", "team": "web"},
		Secrets: []SecretRef{
			{SecretName: "db-password", SecretID: "iddb", File: "db", UID: "0", GID: "101", Mode: 0o440},
			{SecretName: "example.com-v1", SecretID: "idv1", File: "example.com/fullchain.pem", UID: "0", GID: "101", Mode: 0o440},
		},
		PreviousSecrets: []SecretRef{
			{SecretName: "db-password", SecretID: "iddb", File: "db", UID: "0", GID: "101", Mode: 0o440},
			{SecretName: "example.com-v0", SecretID: "idv0", File: "example.com/fullchain.pem", UID: "0", GID: "101", Mode: 0o440},
		},
	}
	for _, by := range []string{svcName, svcID} {
		f := secretsEngine(nil)
		got, err := newFakeClient(t, f, "").ServiceSecrets(t.Context(), by)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ServiceSecrets(%s) =\n %+v\nwant\n %+v", by, got, want)
		}
	}

	never := secretsService()
	never.PreviousSpec = nil
	noneBefore := secretsService()
	noneBefore.PreviousSpec.TaskTemplate.ContainerSpec.Secrets = nil
	plugin := secretsService()
	plugin.Spec.TaskTemplate.ContainerSpec = nil
	plugin.Spec.TaskTemplate.PluginSpec = &swarm.RuntimeSpec{Name: "vieux/sshfs"}
	tests := []struct {
		name                  string
		svc                   *swarm.Service
		wantCurrent, wantPrev []SecretRef
	}{
		{name: "never updated: no previous spec", svc: never, wantCurrent: want.Secrets},
		{name: "previous spec without secrets", svc: noneBefore, wantCurrent: want.Secrets, wantPrev: []SecretRef{}},
		{name: "plugin service", svc: plugin, wantPrev: want.PreviousSecrets},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEngine{svc: fakeService{service: tt.svc}}
			got, err := newFakeClient(t, f, "").ServiceSecrets(t.Context(), svcName)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Secrets, tt.wantCurrent) || !reflect.DeepEqual(got.PreviousSecrets, tt.wantPrev) ||
				(got.PreviousSecrets == nil) != (tt.wantPrev == nil) {
				t.Errorf("ServiceSecrets = %+v / %#v, want %+v / %#v", got.Secrets, got.PreviousSecrets, tt.wantCurrent, tt.wantPrev)
			}
		})
	}

	f := &fakeEngine{}
	if _, err := newFakeClient(t, f, "").ServiceSecrets(t.Context(), "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ServiceSecrets of a missing service = %v, want ErrNotFound", err)
	}
}

// TestUpdateServiceSecrets checks the update sent: by ID, at the version
// given, with the registry credentials of the spec, the whole spec but the
// secret list unchanged byte for byte, and the secret IDs looked up.
func TestUpdateServiceSecrets(t *testing.T) {
	completed := []fakeProgress{
		{status: updateStatus(swarm.UpdateStateUpdating, svcStarted, "update in progress")},
		{status: updateStatus(swarm.UpdateStateCompleted, svcStarted, "update completed")},
	}
	synctest.Test(t, func(t *testing.T) {
		f := secretsEngine(completed)
		c := newFakeClient(t, f, "")
		original := mustJSON(t, f.svc.service.Spec)
		read, err := c.ServiceSecrets(t.Context(), svcName)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		refs := v2Refs()
		refs[1].SecretID = "stale-id-ignored"
		if err := c.UpdateServiceSecrets(t.Context(), svcName, read.Version, refs); err != nil {
			t.Fatalf("UpdateServiceSecrets: %v", err)
		}
		if took := time.Since(start); took != convergePoll {
			t.Errorf("UpdateServiceSecrets took %v, want %v (two inspections)", took, convergePoll)
		}
		if len(f.svc.updates) != 1 {
			t.Fatalf("%d updates sent, want 1", len(f.svc.updates))
		}
		sent := f.svc.updates[0]
		if sent.Version.Index != svcVersion || sent.RegistryAuthFrom != swarm.RegistryAuthFromSpec || sent.EncodedRegistryAuth != "" || sent.QueryRegistry || sent.Rollback != "" {
			t.Errorf("update options: version %d, registry auth from %q, auth %q, query registry %t, rollback %q; want version %d, auth from the spec",
				sent.Version.Index, sent.RegistryAuthFrom, sent.EncodedRegistryAuth, sent.QueryRegistry, sent.Rollback, svcVersion)
		}
		wantRefs := []*swarm.SecretReference{fileRef(secDB, "db"), fileRef(secV2, "example.com/fullchain.pem")}
		if got := sent.Spec.TaskTemplate.ContainerSpec.Secrets; !reflect.DeepEqual(got, wantRefs) {
			t.Errorf("secrets sent = %s, want %s", mustJSON(t, got), mustJSON(t, wantRefs))
		}
		// Byte for byte: the sent spec with the original secret list is the
		// original spec.
		var back swarm.ServiceSpec
		if err := json.Unmarshal(mustJSON(t, sent.Spec), &back); err != nil {
			t.Fatal(err)
		}
		back.TaskTemplate.ContainerSpec.Secrets = richSpec(secV1).TaskTemplate.ContainerSpec.Secrets
		if got := mustJSON(t, back); !bytes.Equal(got, original) {
			t.Errorf("spec changed beyond its secrets:\n got %s\nwant %s", got, original)
		}
		if calls := f.methods(); !slices.Contains(calls, "ServiceUpdate "+svcID) {
			t.Errorf("calls = %q, want ServiceUpdate by ID", calls)
		}

		// The previous spec now refers to version 1, which the inspected
		// spec (not changed in place) still does.
		after, err := c.ServiceSecrets(t.Context(), svcID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Version != svcVersion+1 || after.Secrets[1].SecretName != "example.com-v2" || after.Secrets[1].SecretID != "idv2" ||
			after.PreviousSecrets[1].SecretName != "example.com-v1" || after.PreviousSecrets[1].SecretID != "idv1" {
			t.Errorf("after the update: %+v", after)
		}
	})
}

func TestUpdateServiceSecretsRefused(t *testing.T) {
	completed := []fakeProgress{{status: updateStatus(swarm.UpdateStateCompleted, svcStarted, "update completed")}}
	tests := []struct {
		name      string
		version   uint64
		refs      []SecretRef
		racing    int
		updateErr error
		service   func(*swarm.Service)
		wantIs    error
		wantErr   string
		// wantUpdates is how many updates are sent.
		wantUpdates int
	}{
		{
			name: "the caller read an older version", version: svcVersion - 1, refs: v2Refs(),
			wantIs:  ErrOutOfSequence,
			wantErr: "docker: update service secrets: service web is at version 41, not 40",
		},
		{
			name: "another writer updates between inspection and update", version: svcVersion, refs: v2Refs(), racing: 1,
			wantIs: ErrOutOfSequence, wantUpdates: 1,
			wantErr: "docker: update service secrets: service web: service changed since it was read (update out of sequence): rpc error: code = Unknown desc = update out of sequence",
		},
		{
			name: "missing secret", version: svcVersion,
			refs:    []SecretRef{{SecretName: "example.com-v3", File: "example.com/fullchain.pem"}},
			wantErr: "docker: update service secrets: service web: secret example.com-v3 does not exist",
		},
		{
			name: "a name is only a prefix of existing secrets", version: svcVersion,
			refs:    []SecretRef{{SecretName: "example.com", File: "x"}},
			wantErr: "secret example.com does not exist",
		},
		{
			name: "reference without a file", version: svcVersion,
			refs:    []SecretRef{{SecretName: "example.com-v2"}},
			wantErr: "docker: update service secrets: service web: reference 0 has no secret name or no file",
		},
		{
			name: "plugin service", version: svcVersion, refs: v2Refs(),
			service: func(s *swarm.Service) {
				s.Spec.TaskTemplate.ContainerSpec = nil
				s.Spec.TaskTemplate.PluginSpec = &swarm.RuntimeSpec{Name: "x"}
			},
			wantErr: "runs no containers",
		},
		{
			name: "Swarm refuses the spec", version: svcVersion, refs: v2Refs(),
			updateErr:   errors.New("rpc error: code = InvalidArgument desc = secret reference with target example.com/fullchain.pem is a duplicate"),
			wantUpdates: 1,
			wantErr:     "docker: update service secrets: service web: rpc error: code = InvalidArgument",
		},
		{
			name: "missing service", version: svcVersion, refs: v2Refs(),
			service: func(s *swarm.Service) { s.ID, s.Spec.Name = "other", "other" },
			wantIs:  ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := secretsEngine(completed)
				f.svc.racing, f.svc.updateErr = tt.racing, tt.updateErr
				if tt.service != nil {
					tt.service(f.svc.service)
				}
				err := newFakeClient(t, f, "").UpdateServiceSecrets(t.Context(), svcName, tt.version, tt.refs)
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
					t.Fatalf("UpdateServiceSecrets = %v, want an error wrapping %v containing %q", err, tt.wantIs, tt.wantErr)
				}
				if tt.wantIs != ErrOutOfSequence && errors.Is(err, ErrOutOfSequence) {
					t.Errorf("%v wraps ErrOutOfSequence", err)
				}
				t.Log(err)
				if len(f.svc.updates) != tt.wantUpdates {
					t.Errorf("%d updates sent, want %d (the caller retries, not UpdateServiceSecrets)", len(f.svc.updates), tt.wantUpdates)
				}
				if n := count(f.methods(), "ServiceInspect "+svcID); n != 0 {
					t.Errorf("waited for convergence after a failure: %d inspections", n)
				}
			})
		})
	}
}

// TestUpdateServiceSecretsConvergence checks that the wait is
// ForceUpdate's, with the tasks told apart by their secret references.
func TestUpdateServiceSecretsConvergence(t *testing.T) {
	later := svcStarted.Add(time.Hour)
	stale := updateStatus(swarm.UpdateStateCompleted, svcStarted, "update completed")
	running := swarm.TaskStateRunning
	job := func(s *swarm.Service) { s.Spec.Mode = swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{}} }
	tests := []struct {
		name     string
		before   *swarm.UpdateStatus
		service  func(*swarm.Service)
		progress []fakeProgress
		// wantTook is how long the call takes (synctest time).
		wantTook time.Duration
		wantErr  string
		wantIs   error
	}{
		{
			name: "updating then completed",
			progress: []fakeProgress{
				{status: updateStatus(swarm.UpdateStateUpdating, later, "update in progress")},
				{status: updateStatus(swarm.UpdateStateCompleted, later, "update completed")},
			},
			wantTook: convergePoll,
		},
		{
			name: "paused: Swarm's message",
			progress: []fakeProgress{
				{status: updateStatus(swarm.UpdateStateUpdating, later, "update in progress")},
				{status: updateStatus(swarm.UpdateStatePaused, later, "update paused due to failure or early termination of task x1")},
			},
			wantTook: convergePoll,
			wantErr:  "docker: update service secrets: service web: update paused: update paused due to failure or early termination of task x1",
		},
		{
			name:     "rolled back: Swarm's message",
			progress: []fakeProgress{{status: updateStatus(swarm.UpdateStateRollbackCompleted, later, "rollback completed")}},
			wantErr:  "docker: update service secrets: service web: update rollback_completed: rollback completed",
		},
		{
			name:     "rollback started",
			progress: []fakeProgress{{status: updateStatus(swarm.UpdateStateRollbackStarted, later, "update rolled back due to failure or early termination of task x2")}},
			wantErr:  "update rollback_started: update rolled back due to failure or early termination of task x2",
		},
		{
			name:   "no status of this update: old tasks, then new ones running",
			before: stale,
			progress: []fakeProgress{
				{status: stale, tasks: []swarm.Task{secretsTask(secV1, running), secretsTask(secV1, running)}},
				{status: stale, tasks: []swarm.Task{secretsTask(secV2, running), secretsTask(secV2, swarm.TaskStateStarting)}},
				{status: stale, tasks: []swarm.Task{secretsTask(secV2, running), secretsTask(secV2, running)}},
			},
			wantTook: 2 * convergePoll,
		},
		{
			name:     "timeout after 5 minutes",
			progress: []fakeProgress{{status: updateStatus(swarm.UpdateStateUpdating, later, "update in progress")}},
			wantTook: 5 * time.Minute,
			wantIs:   context.DeadlineExceeded,
			wantErr:  "docker: update service secrets: service web: not converged after 5m0s (update updating): context deadline exceeded",
		},
		{
			name:     "jobs are not waited for",
			service:  job,
			progress: []fakeProgress{{status: updateStatus(swarm.UpdateStateUpdating, later, "")}},
		},
		{
			name:     "service removed while waiting",
			progress: []fakeProgress{{inspectErr: notFound("service", svcID)}},
			wantIs:   ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := secretsEngine(tt.progress)
				f.svc.service.UpdateStatus = tt.before
				if tt.service != nil {
					tt.service(f.svc.service)
				}
				start := time.Now()
				err := newFakeClient(t, f, "").UpdateServiceSecrets(t.Context(), svcName, svcVersion, v2Refs())
				if took := time.Since(start); took != tt.wantTook {
					t.Errorf("UpdateServiceSecrets took %v, want %v; calls %q", took, tt.wantTook, f.methods())
				}
				switch {
				case tt.wantErr == "" && tt.wantIs == nil:
					if err != nil {
						t.Fatalf("UpdateServiceSecrets: %v", err)
					}
				case err == nil || !strings.Contains(err.Error(), tt.wantErr) || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)):
					t.Fatalf("UpdateServiceSecrets = %v, want an error wrapping %v containing %q", err, tt.wantIs, tt.wantErr)
				}
				if len(f.svc.updates) != 1 {
					t.Errorf("%d updates sent, want 1", len(f.svc.updates))
				}
			})
		})
	}
}

// TestUpdateServiceSecretsCallerDeadline checks that the caller's context
// bounds the wait too.
func TestUpdateServiceSecretsCallerDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := secretsEngine([]fakeProgress{{status: updateStatus(swarm.UpdateStateUpdating, svcStarted.Add(time.Hour), "update in progress")}})
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		err := newFakeClient(t, f, "").UpdateServiceSecrets(ctx, svcName, svcVersion, v2Refs())
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not converged after 30s (update updating)") {
			t.Fatalf("UpdateServiceSecrets = %v, want a timeout after 30s", err)
		}
	})
}

// TestUpdateServiceSecretsNameCase checks that a name in another case
// refers to the secret, under its own spelling: Swarm ignores case.
func TestUpdateServiceSecretsNameCase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := secretsEngine([]fakeProgress{{status: updateStatus(swarm.UpdateStateCompleted, svcStarted.Add(time.Hour), "")}})
		refs := []SecretRef{{SecretName: "EXAMPLE.com-V2", File: "example.com/fullchain.pem", UID: "0", GID: "101", Mode: 0o440}}
		if err := newFakeClient(t, f, "").UpdateServiceSecrets(t.Context(), svcName, svcVersion, refs); err != nil {
			t.Fatal(err)
		}
		want := []*swarm.SecretReference{fileRef(secV2, "example.com/fullchain.pem")}
		if got := f.svc.updates[0].Spec.TaskTemplate.ContainerSpec.Secrets; !reflect.DeepEqual(got, want) {
			t.Errorf("secrets sent = %s, want %s", mustJSON(t, got), mustJSON(t, want))
		}
	})
}

// TestUpdateServiceSecretsEmpty checks that an empty list removes every
// secret reference, looking no secret up.
func TestUpdateServiceSecretsEmpty(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := secretsEngine([]fakeProgress{{status: updateStatus(swarm.UpdateStateCompleted, svcStarted.Add(time.Hour), "")}})
		if err := newFakeClient(t, f, "").UpdateServiceSecrets(t.Context(), svcName, svcVersion, nil); err != nil {
			t.Fatal(err)
		}
		if got := f.svc.updates[0].Spec.TaskTemplate.ContainerSpec.Secrets; got != nil {
			t.Errorf("secrets sent = %v, want none", got)
		}
		if n := count(f.methods(), "SecretList "); n != 0 {
			t.Errorf("%d secret lookups, want none", n)
		}
	})
}

func TestAllServiceSecretRefs(t *testing.T) {
	withPrev := *secretsService()
	withPrev.Spec.Name = "web"
	plain := swarm.Service{ID: "api-id", Spec: swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: "api"},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Secrets: []*swarm.SecretReference{fileRef(secV2, "cert.pem")}}},
	}}
	plugin := swarm.Service{ID: "p", Spec: swarm.ServiceSpec{TaskTemplate: swarm.TaskSpec{PluginSpec: &swarm.RuntimeSpec{}}}}
	f := &fakeEngine{svc: fakeService{list: []swarm.Service{withPrev, plain, plugin}}}
	got, err := newFakeClient(t, f, "").AllServiceSecretRefs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"db-password": true, "example.com-v0": true, "example.com-v1": true, "example.com-v2": true}
	if !maps.Equal(got, want) {
		t.Errorf("AllServiceSecretRefs = %v, want %v", got, want)
	}

	f = &fakeEngine{svc: fakeService{listErr: errors.New("This node is not a swarm manager.")}}
	if _, err := newFakeClient(t, f, "").AllServiceSecretRefs(t.Context()); err == nil ||
		err.Error() != "docker: service secret references: list services: This node is not a swarm manager." {
		t.Errorf("AllServiceSecretRefs on a worker = %v", err)
	}
}

func TestRefsKey(t *testing.T) {
	a, b := fileRef(secV1, "a"), fileRef(secDB, "b")
	moved := fileRef(secV1, "c")
	chmod := fileRef(secV1, "a")
	chmod.File.Mode = 0o400
	tests := []struct {
		name  string
		x, y  []*swarm.SecretReference
		equal bool
	}{
		{name: "order does not matter", x: []*swarm.SecretReference{a, b}, y: []*swarm.SecretReference{b, a}, equal: true},
		{name: "none", equal: true},
		{name: "another target", x: []*swarm.SecretReference{a, b}, y: []*swarm.SecretReference{moved, b}},
		{name: "another mode", x: []*swarm.SecretReference{a}, y: []*swarm.SecretReference{chmod}},
		{name: "one more", x: []*swarm.SecretReference{a}, y: []*swarm.SecretReference{a, b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refsKey(tt.x) == refsKey(tt.y); got != tt.equal {
				t.Errorf("same references = %t, want %t", got, tt.equal)
			}
		})
	}
}
