package docker

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// certFile is where the e2e service mounts its certificate secret.
const certFile = "example.com/fullchain.pem"

// removeLabelledSecrets removes, in t's cleanup, the secrets carrying
// labelKey, through the test's own SDK client.
func (e *dockerEnv) removeLabelledSecrets(t *testing.T, labelKey string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		f := client.Filters{}
		f.Add("label", labelKey)
		l, err := e.api.SecretList(ctx, client.SecretListOptions{Filters: f})
		if err != nil {
			t.Errorf("cleanup: list secrets: %v", err)
			return
		}
		for _, s := range l.Items {
			if _, err := e.api.SecretRemove(ctx, s.ID, client.SecretRemoveOptions{}); err != nil {
				t.Errorf("cleanup: remove secret %s: %v", s.Spec.Name, err)
			}
		}
	})
}

// createConfig creates a Swarm config labelled with the test label and
// removes it in t's cleanup.
func (e *dockerEnv) createConfig(t *testing.T, name, data string) string {
	t.Helper()
	res, err := e.api.ConfigCreate(t.Context(), client.ConfigCreateOptions{Spec: swarm.ConfigSpec{
		Annotations: swarm.Annotations{Name: name, Labels: map[string]string{testLabel: "1"}},
		Data:        []byte(data),
	}})
	if err != nil {
		t.Fatalf("create config: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if _, err := e.api.ConfigRemove(ctx, res.ID, client.ConfigRemoveOptions{}); err != nil {
			t.Errorf("cleanup: remove config %s: %v", name, err)
		}
	})
	return res.ID
}

// taskContainer returns the container of the service's task that Swarm
// wants running and that runs, waiting up to timeout for one.
func (e *dockerEnv) taskContainer(t *testing.T, service string, timeout time.Duration) string {
	t.Helper()
	f := client.Filters{}
	f.Add("service", service)
	f.Add("desired-state", "running")
	var id string
	ok := eventually(timeout, func() bool {
		l, err := e.api.TaskList(t.Context(), client.TaskListOptions{Filters: f})
		if err != nil {
			t.Fatalf("task list: %v", err)
		}
		for _, tk := range l.Items {
			if cs := tk.Status.ContainerStatus; tk.Status.State == swarm.TaskStateRunning && cs != nil && cs.ContainerID != "" {
				id = cs.ContainerID
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("no running task of service %s within %v", service, timeout)
	}
	return id
}

// readCert returns the certificate file as the container sees it, and its
// mode, owner and group.
func readCert(t *testing.T, c *Client, container string) (content, stat string) {
	t.Helper()
	path := "/run/secrets/" + certFile
	res, err := c.Exec(t.Context(), container, []string{"cat", path}, 10*time.Second)
	if err != nil {
		t.Fatalf("cat %s: %v", path, err)
	}
	st, err := c.Exec(t.Context(), container, []string{"stat", "-c", "%a %u %g", path}, 10*time.Second)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return res.OutputTail, strings.TrimSpace(st.OutputTail)
}

// TestSwarmSecrets swaps a certificate secret in a running service: two
// versions are created, the service mounts version 1, UpdateServiceSecrets
// moves it to version 2, and version 1 can be removed only once no spec,
// current or previous, refers to it.
func TestSwarmSecrets(t *testing.T) {
	t.Parallel()
	e := newDockerEnv(t)
	requireSwarmManager(t, e)
	c := e.client(t, "")
	ctx := t.Context()

	// Cleanups run last-registered first: the service goes before the
	// secrets and the config it refers to.
	labelKey := e.prefix + ".lineage"
	e.removeLabelledSecrets(t, labelKey)
	labels := map[string]string{testLabel: "1", labelKey: "example.com"}
	base := "certdock-test-" + randomHex(4)
	data1 := "-----BEGIN CERTIFICATE-----\nversion 1\n-----END CERTIFICATE-----\n"
	data2 := "-----BEGIN CERTIFICATE-----\nversion 2\n-----END CERTIFICATE-----\n"

	// Create, idempotently.
	id1, err := c.CreateSecret(ctx, base+"-v1", []byte(data1), labels)
	if err != nil {
		t.Fatalf("CreateSecret v1: %v", err)
	}
	if again, err := c.CreateSecret(ctx, base+"-v1", []byte(data1), maps.Clone(labels)); err != nil || again != id1 {
		t.Errorf("CreateSecret v1 again = %q, %v; want %q, the existing secret", again, err, id1)
	}
	if again, err := c.CreateSecret(ctx, strings.ToUpper(base)+"-V1", []byte(data1), labels); err != nil || again != id1 {
		t.Errorf("CreateSecret v1 in capitals = %q, %v; want %q: Swarm ignores case in names", again, err, id1)
	}
	others := map[string]string{testLabel: "1", labelKey: "example.com", "owner": "ops"}
	if _, err := c.CreateSecret(ctx, base+"-v1", []byte(data1), others); !errors.Is(err, ErrSecretExists) {
		t.Errorf("CreateSecret v1 with other labels: %v, want ErrSecretExists", err)
	} else {
		t.Log(err)
	}
	id2, err := c.CreateSecret(ctx, base+"-v2", []byte(data2), labels)
	if err != nil {
		t.Fatalf("CreateSecret v2: %v", err)
	}
	// Swarm's name limit, for whoever chooses the naming scheme.
	long := base + "-" + strings.Repeat("x", 64-len(base)-1)
	if _, err := c.CreateSecret(ctx, long, []byte("x"), labels); err != nil {
		t.Errorf("CreateSecret with a %d-character name: %v", len(long), err)
	}
	if _, err := c.CreateSecret(ctx, long+"x", []byte("x"), labels); err == nil {
		t.Errorf("CreateSecret with a %d-character name succeeded; want Swarm's refusal", len(long)+1)
	} else {
		t.Logf("%d characters: %v", len(long)+1, err)
	}

	got, err := c.Secrets(ctx, labelKey)
	if err != nil {
		t.Fatalf("Secrets: %v", err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
		if !maps.Equal(s.Labels, labels) || s.CreatedAt.IsZero() || s.ID == "" {
			t.Errorf("listed secret %+v, want labels %v, an ID and a creation time", s, labels)
		}
	}
	if want := []string{base + "-v1", base + "-v2", long}; !slices.Equal(names, want) {
		t.Errorf("Secrets(%s) = %q, want %q", labelKey, names, want)
	}

	// The service mounts version 1 and sets much else that must survive.
	cfg := e.createConfig(t, base+"-conf", "listen 443;\n")
	svcLabels := map[string]string{testLabel: "1", e.prefix + ".domains": "example.com"}
	id, name := e.createService(t, svcLabels, func(s *swarm.ServiceSpec) {
		cs := s.TaskTemplate.ContainerSpec
		cs.Env = []string{"A=1", "B=two words"}
		cs.Dir = "/tmp"
		cs.Mounts = []mount.Mount{{Type: mount.TypeTmpfs, Target: "/cache"}}
		cs.Configs = []*swarm.ConfigReference{{
			ConfigID: cfg, ConfigName: base + "-conf",
			File: &swarm.ConfigReferenceFileTarget{Name: "/etc/example.conf", UID: "0", GID: "0", Mode: 0o444},
		}}
		cs.Secrets = []*swarm.SecretReference{{
			SecretID: id1, SecretName: base + "-v1",
			File: &swarm.SecretReferenceFileTarget{Name: certFile, UID: "0", GID: "0", Mode: 0o440},
		}}
		s.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny}
	})
	if content, stat := readCert(t, c, e.taskContainer(t, id, 30*time.Second)); content != data1 || stat != "440 0 0" {
		t.Fatalf("before the update the task reads %q (%s), want version 1 (440 0 0)", content, stat)
	}

	read, err := c.ServiceSecrets(ctx, name)
	if err != nil {
		t.Fatalf("ServiceSecrets: %v", err)
	}
	wantV1 := SecretRef{SecretName: base + "-v1", SecretID: id1, File: certFile, UID: "0", GID: "0", Mode: 0o440}
	if read.ID != id || read.Name != name || !maps.Equal(read.Labels, svcLabels) ||
		!slices.Equal(read.Secrets, []SecretRef{wantV1}) || read.PreviousSecrets != nil {
		t.Fatalf("ServiceSecrets = %+v, want version 1 and no previous spec", read)
	}
	before, err := e.api.ServiceInspect(ctx, id, client.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Swap, at Swarm's default update settings.
	refs := []SecretRef{{SecretName: base + "-v2", File: certFile, UID: "0", GID: "0", Mode: 0o440}}
	start := time.Now()
	if err := c.UpdateServiceSecrets(ctx, name, read.Version, refs); err != nil {
		t.Fatalf("UpdateServiceSecrets: %v", err)
	}
	t.Logf("UpdateServiceSecrets converged in %v", time.Since(start).Round(time.Millisecond))
	task := e.taskContainer(t, id, time.Second)
	if ins, err := e.api.ContainerInspect(ctx, task, client.ContainerInspectOptions{}); err == nil && ins.Container.State != nil {
		if at, err := time.Parse(time.RFC3339Nano, ins.Container.State.StartedAt); err == nil {
			t.Logf("the task with version 2 started %v after the update was sent", at.Sub(start).Round(time.Millisecond))
		}
	}
	if content, stat := readCert(t, c, task); content != data2 || stat != "440 0 0" {
		t.Errorf("after the update the task reads %q (%s), want version 2 (440 0 0)", content, stat)
	}
	if err := c.UpdateServiceSecrets(ctx, name, read.Version, refs); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("UpdateServiceSecrets at the version read before: %v, want ErrOutOfSequence", err)
	}

	after, err := e.api.ServiceInspect(ctx, id, client.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantSpec := before.Service.Spec
	wantCS := *wantSpec.TaskTemplate.ContainerSpec
	wantCS.Secrets = []*swarm.SecretReference{{
		SecretID: id2, SecretName: base + "-v2",
		File: &swarm.SecretReferenceFileTarget{Name: certFile, UID: "0", GID: "0", Mode: 0o440},
	}}
	wantSpec.TaskTemplate.ContainerSpec = &wantCS
	if !reflect.DeepEqual(after.Service.Spec, wantSpec) {
		t.Errorf("the spec changed beyond its secrets:\n got %+v\nwant %+v", after.Service.Spec, wantSpec)
	}
	if us := after.Service.UpdateStatus; us != nil {
		t.Logf("UpdateStatus: %s %q started %v completed %v", us.State, us.Message, us.StartedAt, us.CompletedAt)
	}

	read, err = c.ServiceSecrets(ctx, id)
	if err != nil {
		t.Fatalf("ServiceSecrets: %v", err)
	}
	wantV2 := wantV1
	wantV2.SecretName, wantV2.SecretID = base+"-v2", id2
	if !slices.Equal(read.Secrets, []SecretRef{wantV2}) || !slices.Equal(read.PreviousSecrets, []SecretRef{wantV1}) {
		t.Errorf("after the update ServiceSecrets = %+v, want version 2, and version 1 in the previous spec", read)
	}
	inUse, err := c.AllServiceSecretRefs(ctx)
	if err != nil {
		t.Fatalf("AllServiceSecretRefs: %v", err)
	}
	if !inUse[base+"-v1"] || !inUse[base+"-v2"] || inUse[long] {
		t.Errorf("AllServiceSecretRefs = %v, want versions 1 and 2, not %s", inUse, long)
	}

	// Version 1 is in the previous spec only: Swarm would remove it, and a
	// rollback would then fail.
	if err := c.RemoveSecret(ctx, id1); !errors.Is(err, ErrSecretInUse) {
		t.Fatalf("RemoveSecret of version 1, in the previous spec: %v, want ErrSecretInUse", err)
	} else {
		t.Log(err)
	}
	if err := c.RemoveSecret(ctx, id2); !errors.Is(err, ErrSecretInUse) {
		t.Errorf("RemoveSecret of version 2, in the current spec: %v, want ErrSecretInUse", err)
	} else {
		t.Log(err)
	}

	// Any further update makes the current spec the previous one.
	start = time.Now()
	if err := c.UpdateServiceSecrets(ctx, name, read.Version, refs); err != nil {
		t.Fatalf("UpdateServiceSecrets with the same references: %v", err)
	}
	t.Logf("UpdateServiceSecrets with the same references converged in %v", time.Since(start).Round(time.Millisecond))
	if again := e.taskContainer(t, id, time.Second); again != task {
		t.Errorf("an update with the same references replaced the task")
	}
	read, err = c.ServiceSecrets(ctx, id)
	if err != nil {
		t.Fatalf("ServiceSecrets: %v", err)
	}
	if !slices.Equal(read.PreviousSecrets, []SecretRef{wantV2}) {
		t.Errorf("after a second update the previous spec refers to %+v, want version 2", read.PreviousSecrets)
	}
	if err := c.RemoveSecret(ctx, id1); err != nil {
		t.Errorf("RemoveSecret of version 1, referred to by no spec: %v", err)
	}
	if err := c.RemoveSecret(ctx, id1); err != nil {
		t.Errorf("RemoveSecret of version 1, gone: %v", err)
	}
	if err := c.RemoveSecret(ctx, long); err != nil {
		t.Errorf("RemoveSecret by name: %v", err)
	}
	if got, err := c.Secrets(ctx, labelKey); err != nil || len(got) != 1 || got[0].ID != id2 {
		t.Errorf("Secrets after removals = %+v, %v; want version 2 only", got, err)
	}
	if err := c.UpdateServiceSecrets(ctx, "certdock-test-no-such-service", 1, refs); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateServiceSecrets of a missing service: %v, want ErrNotFound", err)
	}
}
