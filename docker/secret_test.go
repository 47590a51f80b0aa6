package docker

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// ownLabels are the labels the secret tests give their secrets.
var ownLabels = map[string]string{"certdock.lineage": "example.com", "certdock.version": "4"}

// secretCreated is when the tests' existing secrets were created.
var secretCreated = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

// testSecret returns an existing secret.
func testSecret(id, name string, labels map[string]string) swarm.Secret {
	return swarm.Secret{
		ID:   id,
		Meta: swarm.Meta{CreatedAt: secretCreated},
		Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: name, Labels: labels}},
	}
}

func TestCreateSecret(t *testing.T) {
	const name = "example.com-v4-fullchain"
	tests := []struct {
		name     string
		existing []swarm.Secret
		labels   map[string]string
		secrets  fakeSecrets
		// wantID is the ID returned, wantErr a substring of the error.
		wantID, wantErr string
		// wantExists tells whether the error wraps ErrSecretExists.
		wantExists bool
		// wantCalls are the calls made, in order (nil: not checked).
		wantCalls []string
	}{
		{
			name:      "new",
			existing:  []swarm.Secret{testSecret("s3", "example.com-v3-fullchain", ownLabels)},
			labels:    ownLabels,
			wantID:    "newsecret1",
			wantCalls: []string{"SecretCreate " + name},
		},
		{
			name:      "exists with the same labels: created before a crash",
			existing:  []swarm.Secret{testSecret("s4", name, maps.Clone(ownLabels))},
			labels:    ownLabels,
			wantID:    "s4",
			wantCalls: []string{"SecretCreate " + name, "SecretList "},
		},
		{
			name:     "nil and empty labels are the same",
			existing: []swarm.Secret{testSecret("s4", name, map[string]string{})},
			wantID:   "s4",
		},
		{
			name:     "Swarm ignores case in names",
			existing: []swarm.Secret{testSecret("s4", "Example.com-V4-Fullchain", ownLabels)},
			labels:   ownLabels,
			wantID:   "s4",
		},
		{
			name:     "a longer name with the same prefix is another secret",
			existing: []swarm.Secret{testSecret("s5", name+"-old", ownLabels), testSecret("s4", name, ownLabels)},
			labels:   ownLabels,
			wantID:   "s4",
		},
		{
			name:       "exists with other labels: someone else's",
			existing:   []swarm.Secret{testSecret("s9", name, map[string]string{"owner": "ops"})},
			labels:     ownLabels,
			wantExists: true,
			wantErr:    "docker: create secret: secret example.com-v4-fullchain (ID s9) exists with labels map[owner:ops]",
			wantCalls:  []string{"SecretCreate " + name, "SecretList "},
		},
		{
			name:       "exists with fewer labels",
			existing:   []swarm.Secret{testSecret("s9", name, map[string]string{"certdock.lineage": "example.com"})},
			labels:     ownLabels,
			wantExists: true,
			wantErr:    "left alone",
		},
		{
			name:      "refused for another reason",
			labels:    ownLabels,
			secrets:   fakeSecrets{createErr: errors.New("rpc error: code = InvalidArgument desc = secret data must be larger than 0 and less than 512000 bytes")},
			wantErr:   "docker: create secret: secret example.com-v4-fullchain: rpc error: code = InvalidArgument desc = secret data must be larger",
			wantCalls: []string{"SecretCreate " + name},
		},
		{
			name:     "exists, but the lookup fails",
			existing: []swarm.Secret{testSecret("s4", name, ownLabels)},
			labels:   ownLabels,
			secrets:  fakeSecrets{listErr: errors.New("rpc error: no leader")},
			wantErr:  "docker: create secret: secret example.com-v4-fullchain exists; looking it up: rpc error: no leader",
		},
		{
			name:     "exists, then removed before the lookup",
			existing: []swarm.Secret{testSecret("s4", name, ownLabels)},
			labels:   ownLabels,
			secrets:  fakeSecrets{vanish: name},
			wantErr:  "docker: create secret: secret example.com-v4-fullchain: rpc error: code = AlreadyExists",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEngine{secrets: tt.secrets}
			f.secrets.items = slices.Clone(tt.existing)
			data := []byte("-----BEGIN CERTIFICATE-----\n\x00\xff")
			id, err := newFakeClient(t, f, "").CreateSecret(t.Context(), name, data, tt.labels)
			if tt.wantErr == "" {
				if err != nil || id != tt.wantID {
					t.Fatalf("CreateSecret = %q, %v; want %q", id, err, tt.wantID)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("CreateSecret = %q, %v; want an error containing %q", id, err, tt.wantErr)
				}
				if errors.Is(err, ErrSecretExists) != tt.wantExists {
					t.Fatalf("CreateSecret = %v; wraps ErrSecretExists: %t, want %t", err, !tt.wantExists, tt.wantExists)
				}
				t.Log(err)
			}
			calls := f.methods()
			if tt.wantCalls != nil && !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("calls = %q, want %q", calls, tt.wantCalls)
			}
			if slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "SecretRemove") }) {
				t.Errorf("CreateSecret removed a secret: calls %q", calls)
			}
			if tt.wantID != "newsecret1" {
				if tt.secrets.vanish == "" && !reflect.DeepEqual(f.secrets.items, tt.existing) {
					t.Errorf("secrets changed: %+v, before %+v", f.secrets.items, tt.existing)
				}
				return
			}
			// What reaches Swarm: the name, the data and the labels only.
			spec := f.secrets.creates[0].Spec
			if spec.Name != name || string(spec.Data) != string(data) || !maps.Equal(spec.Labels, tt.labels) ||
				spec.Driver != nil || spec.Templating != nil {
				t.Errorf("sent %+v, want name %s, the data and labels %v only", spec, name, tt.labels)
			}
		})
	}
}

func TestCreateSecretEmptyName(t *testing.T) {
	f := &fakeEngine{}
	if _, err := newFakeClient(t, f, "").CreateSecret(t.Context(), "", []byte("x"), nil); err == nil || !strings.Contains(err.Error(), "empty secret name") {
		t.Errorf("CreateSecret(\"\") = %v, want an empty-name error", err)
	}
	if calls := f.methods(); len(calls) != 0 {
		t.Errorf("calls = %q, want none", calls)
	}
}

func TestSecrets(t *testing.T) {
	const key = "certdock.lineage"
	b := testSecret("id-b", "b.example-v1", map[string]string{key: "b.example"})
	a2 := testSecret("id-a2", "a.example-v2", map[string]string{key: "a.example", "x": "y"})
	a1 := testSecret("id-a1", "a.example-v1", map[string]string{key: ""})
	other := testSecret("id-o", "db-password", map[string]string{"owner": "ops"})
	unlabelled := testSecret("id-u", "aaa", nil)

	f := &fakeEngine{secrets: fakeSecrets{items: []swarm.Secret{b, other, a2, unlabelled, a1}}}
	c := newFakeClient(t, f, "")
	got, err := c.Secrets(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	want := []Secret{
		{ID: "id-a1", Name: "a.example-v1", Labels: a1.Spec.Labels, CreatedAt: secretCreated},
		{ID: "id-a2", Name: "a.example-v2", Labels: a2.Spec.Labels, CreatedAt: secretCreated},
		{ID: "id-b", Name: "b.example-v1", Labels: b.Spec.Labels, CreatedAt: secretCreated},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Secrets =\n %+v\nwant\n %+v", got, want)
	}
	if len(f.secrets.lists) != 1 || !reflect.DeepEqual(f.secrets.lists[0].Filters, client.Filters{"label": {key: true}}) {
		t.Errorf("SecretList options %+v, want the label filter %s only", f.secrets.lists, key)
	}

	// A daemon that ignored the filter would hand back others' secrets:
	// they are dropped.
	f = &fakeEngine{secrets: fakeSecrets{items: []swarm.Secret{other, unlabelled, b}, ignoreFilters: true}}
	got, err = newFakeClient(t, f, "").Secrets(t.Context(), key)
	if err != nil || len(got) != 1 || got[0].ID != "id-b" {
		t.Errorf("Secrets from a daemon ignoring the filter = %+v, %v; want only id-b", got, err)
	}

	if _, err := c.Secrets(t.Context(), " "); err == nil || !strings.Contains(err.Error(), "empty label key") {
		t.Errorf("Secrets(\" \") = %v, want an empty-key error", err)
	}
	f = &fakeEngine{secrets: fakeSecrets{listErr: errors.New("This node is not a swarm manager.")}}
	if _, err := newFakeClient(t, f, "").Secrets(t.Context(), key); err == nil ||
		err.Error() != "docker: list secrets with label certdock.lineage: This node is not a swarm manager." {
		t.Errorf("Secrets on a worker = %v", err)
	}
}

func TestRemoveSecret(t *testing.T) {
	v1 := testSecret("sv1", "example.com-v1", ownLabels)
	v2 := testSecret("sv2", "example.com-v2", ownLabels)
	ref := func(s swarm.Secret) []*swarm.SecretReference {
		return []*swarm.SecretReference{{SecretID: s.ID, SecretName: s.Spec.Name, File: &swarm.SecretReferenceFileTarget{Name: "example.com/fullchain.pem"}}}
	}
	using := func(name string, current, previous []*swarm.SecretReference) swarm.Service {
		s := swarm.Service{ID: name + "-id", Spec: swarm.ServiceSpec{
			Annotations:  swarm.Annotations{Name: name},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "nginx", Secrets: current}},
		}}
		if previous != nil {
			s.PreviousSpec = &swarm.ServiceSpec{
				Annotations:  swarm.Annotations{Name: name},
				TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "nginx", Secrets: previous}},
			}
		}
		return s
	}
	plugin := swarm.Service{ID: "p", Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "plugin"}, TaskTemplate: swarm.TaskSpec{PluginSpec: &swarm.RuntimeSpec{Name: "x"}}}}
	tests := []struct {
		name     string
		id       string
		services []swarm.Service
		listErr  error
		secrets  fakeSecrets
		// wantRemoved is the secret removed, "" none.
		wantRemoved string
		wantIs      error
		wantErr     string
	}{
		{name: "unused", id: "sv1", services: []swarm.Service{using("web", ref(v2), ref(v2)), plugin}, wantRemoved: "sv1"},
		{name: "by name", id: "example.com-v1", wantRemoved: "sv1"},
		{name: "by name in another case", id: "Example.com-V1", wantRemoved: "sv1"},
		{name: "gone", id: "sv7"},
		{name: "a prefix of another secret's ID is not that secret", id: "sv"},
		{
			name: "the current spec refers to it", id: "sv1",
			services: []swarm.Service{using("web", ref(v1), nil), using("api", ref(v1), ref(v2))},
			wantIs:   ErrSecretInUse,
			wantErr:  "docker: remove secret: secret example.com-v1: referenced by service api, service web: secret in use",
		},
		{
			name: "only the previous spec refers to it", id: "sv1",
			services: []swarm.Service{using("web", ref(v2), ref(v1))},
			wantIs:   ErrSecretInUse,
			wantErr:  "docker: remove secret: secret example.com-v1: referenced by service web (previous spec): secret in use",
		},
		{
			name: "Swarm refuses: a service took it since the check", id: "sv1",
			secrets: fakeSecrets{removeErr: errors.New("rpc error: code = InvalidArgument desc = secret 'example.com-v1' is in use by the following service: web")},
			wantIs:  ErrSecretInUse,
			wantErr: "docker: remove secret: secret example.com-v1: secret in use: rpc error",
		},
		{
			name: "removed by someone else since the check", id: "sv1",
			secrets: fakeSecrets{removeErr: notFound("secret", "sv1")},
		},
		{
			name: "services cannot be listed", id: "sv1",
			listErr: errors.New("rpc error: no leader"),
			wantErr: "docker: remove secret: secret example.com-v1: list services: rpc error: no leader",
		},
		{
			name: "inspection fails", id: "sv1",
			secrets: fakeSecrets{inspectErr: errors.New("This node is not a swarm manager.")},
			wantErr: "docker: remove secret: secret sv1: This node is not a swarm manager.",
		},
		{
			name: "removal fails", id: "sv1",
			secrets: fakeSecrets{removeErr: errors.New("rpc error: no leader")},
			wantErr: "docker: remove secret: secret example.com-v1: rpc error: no leader",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEngine{secrets: tt.secrets}
			f.secrets.items = []swarm.Secret{v1, v2}
			f.svc.list, f.svc.listErr = tt.services, tt.listErr
			err := newFakeClient(t, f, "").RemoveSecret(t.Context(), tt.id)
			switch {
			case tt.wantErr == "":
				if err != nil {
					t.Fatalf("RemoveSecret(%s): %v", tt.id, err)
				}
			case err == nil || !strings.HasPrefix(err.Error(), tt.wantErr):
				t.Fatalf("RemoveSecret(%s) = %v, want an error starting %q", tt.id, err, tt.wantErr)
			case errors.Is(err, ErrSecretInUse) != (tt.wantIs == ErrSecretInUse):
				t.Fatalf("RemoveSecret(%s) = %v; wraps ErrSecretInUse: %t, want %t", tt.id, err, errors.Is(err, ErrSecretInUse), tt.wantIs != nil)
			}
			var removed string
			if len(f.secrets.removed) > 0 {
				removed = strings.Join(f.secrets.removed, ",")
			}
			if removed != tt.wantRemoved {
				t.Errorf("removed %q, want %q; calls %q", removed, tt.wantRemoved, f.methods())
			}
			if tt.wantIs == ErrSecretInUse && tt.secrets.removeErr == nil && slices.Contains(f.methods(), "SecretRemove sv1") {
				t.Errorf("a secret in use was sent for removal: calls %q", f.methods())
			}
		})
	}
}

func TestRemoveSecretEmptyID(t *testing.T) {
	f := &fakeEngine{}
	if err := newFakeClient(t, f, "").RemoveSecret(t.Context(), ""); err == nil || !strings.Contains(err.Error(), "empty secret name") {
		t.Errorf("RemoveSecret(\"\") = %v, want an empty-name error", err)
	}
	if calls := f.methods(); len(calls) != 0 {
		t.Errorf("calls = %q, want none", calls)
	}
}
