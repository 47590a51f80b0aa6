package deliver

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/secrets"
)

func newTestDeliverer(sw *fakeSwarm, files Files, now *time.Time) *Deliverer {
	return New(sw, files, Options{Now: func() time.Time { return *now }})
}

// setup returns a fake swarm with services, and a Deliverer on it whose
// clock the test moves with *now.
func setup(services ...string) (*fakeSwarm, *Deliverer, *time.Time) {
	sw := newFakeSwarm(services...)
	now := time.Now()
	return sw, newTestDeliverer(sw, &fakeFiles{}, &now), &now
}

// one returns the single result of a call, failing otherwise.
func one(t *testing.T, res []controller.Delivered) controller.Delivered {
	t.Helper()
	if len(res) != 1 {
		t.Fatalf("got %d results, want 1: %+v", len(res), res)
	}
	return res[0]
}

func TestDeliverRotatesAndCollects(t *testing.T) {
	ctx := context.Background()
	sw := newFakeSwarm("web")
	sw.addUserSecret("db-password")
	sw.services["web"].refs = []docker.SecretRef{{SecretName: "db-password", File: "db", UID: "0", GID: "0", Mode: 0o400}}
	files := &fakeFiles{}
	now := time.Now()
	d := newTestDeliverer(sw, files, &now)

	v1 := lineage(t, "example.com", 1)
	r := one(t, d.Deliver(ctx, []controller.Delivery{want(v1, "web")}))
	if r.Err != nil || r.Version != 1 || !r.Changed || r.Service != "web" || r.Name != "example.com" {
		t.Fatalf("first delivery: %+v", r)
	}
	wantRefs := []string{
		"certdock.example.com.v1.cert.pem@example.com/cert.pem",
		"certdock.example.com.v1.chain.pem@example.com/chain.pem",
		"certdock.example.com.v1.fullchain.pem@example.com/fullchain.pem",
		"certdock.example.com.v1.privkey.pem@example.com/privkey.pem",
		"db-password@db",
	}
	if got := sw.refs("web"); !slices.Equal(got, wantRefs) {
		t.Fatalf("refs after first delivery:\n got %v\nwant %v", got, wantRefs)
	}
	for _, r := range sw.services["web"].refs {
		want := fs.FileMode(0o444)
		switch {
		case r.File == "db":
			continue
		case strings.HasSuffix(r.File, "privkey.pem"):
			want = 0o400
		}
		if r.Mode != want || r.UID != "0" || r.GID != "0" {
			t.Errorf("%s: %s:%s %04o, want 0:0 %04o", r.File, r.UID, r.GID, r.Mode, want)
		}
	}

	// Level-triggered: the same call again changes nothing.
	updates, creates := sw.count("UpdateServiceSecrets"), sw.count("CreateSecret")
	r = one(t, d.Deliver(ctx, []controller.Delivery{want(v1, "web")}))
	if r.Err != nil || r.Changed || r.Version != 1 {
		t.Fatalf("no-op delivery: %+v", r)
	}
	if sw.count("UpdateServiceSecrets") != updates || sw.count("CreateSecret") != creates {
		t.Fatal("a no-op delivery updated the service or created secrets")
	}

	// A new version swaps all four files in one update; v1 stays while the
	// previous spec (a rollback) needs it.
	v2 := lineage(t, "example.com", 2)
	r = one(t, d.Deliver(ctx, []controller.Delivery{want(v2, "web")}))
	if r.Err != nil || r.Version != 2 || !r.Changed {
		t.Fatalf("rotation: %+v", r)
	}
	if sw.count("UpdateServiceSecrets") != updates+1 {
		t.Fatalf("rotation took %d updates, want 1", sw.count("UpdateServiceSecrets")-updates)
	}
	if got := sw.secretNames(); !slices.Contains(got, "certdock.example.com.v1.cert.pem") || !slices.Contains(got, "certdock.example.com.v2.cert.pem") {
		t.Fatalf("after rotation, secrets %v: want v1 (previous spec) and v2", got)
	}
	// Once the previous spec no longer names v1, it goes; the user's
	// secret never does.
	v3 := lineage(t, "example.com", 3)
	one(t, d.Deliver(ctx, []controller.Delivery{want(v3, "web")}))
	got := sw.secretNames()
	for _, n := range got {
		if strings.Contains(n, ".v1.") {
			t.Fatalf("v1 secret %s kept after two rotations: %v", n, got)
		}
	}
	if !slices.Contains(got, "db-password") || len(got) != 9 {
		t.Fatalf("secrets after two rotations: %v (want db-password, v2 and v3)", got)
	}
}

func TestDeliverRepairsWithoutNewSecrets(t *testing.T) {
	ctx := context.Background()
	sw, d, _ := setup("web")
	v1 := lineage(t, "example.com", 1)
	one(t, d.Deliver(ctx, []controller.Delivery{want(v1, "web")}))

	// A stack deploy re-run drops certdock's references.
	sw.mu.Lock()
	s := sw.services["web"]
	s.previous, s.refs, s.version = s.refs, nil, s.version+1
	sw.mu.Unlock()
	creates := sw.count("CreateSecret")
	r := one(t, d.Deliver(ctx, []controller.Delivery{want(v1, "web")}))
	if r.Err != nil || !r.Changed || r.Version != 1 {
		t.Fatalf("repair: %+v", r)
	}
	if sw.count("CreateSecret") != creates {
		t.Fatal("repair created secrets: the existing ones must be used")
	}
	if len(sw.refs("web")) != 4 {
		t.Fatalf("refs after repair: %v", sw.refs("web"))
	}
}

func TestDeliverSharedCertificate(t *testing.T) {
	ctx := context.Background()
	sw := newFakeSwarm("a", "b")
	files := &fakeFiles{}
	now := time.Now()
	d := newTestDeliverer(sw, files, &now)
	v1 := lineage(t, "example.com", 1)
	res := d.Deliver(ctx, []controller.Delivery{want(v1, "a"), want(v1, "b")})
	if len(res) != 2 || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("results: %+v", res)
	}
	if files.reads != 1 {
		t.Errorf("files read %d times, want once per version", files.reads)
	}
	if len(sw.secretNames()) != 4 || !slices.Equal(sw.refs("a"), sw.refs("b")) {
		t.Fatalf("secrets %v; a %v; b %v", sw.secretNames(), sw.refs("a"), sw.refs("b"))
	}
}

func TestDeliverCollisionLeavesUserSecrets(t *testing.T) {
	ctx := context.Background()
	sw := newFakeSwarm("web", "api")
	// A user's secret with the name certdock wants for api, and a user's
	// reference at the target certdock wants in web.
	sw.addUserSecret("certdock.example.com.v1.cert.pem")
	sw.addUserSecret("mine")
	sw.services["web"].refs = []docker.SecretRef{{SecretName: "mine", File: "example.com/fullchain.pem"}}
	now := time.Now()
	d := newTestDeliverer(sw, &fakeFiles{}, &now)
	v1 := lineage(t, "example.com", 1)
	res := d.Deliver(ctx, []controller.Delivery{want(v1, "api"), want(v1, "web")})
	for _, r := range res {
		if r.Err == nil {
			t.Fatalf("%s: delivered despite a collision", r.Service)
		}
	}
	if !errors.Is(res[1].Err, secrets.ErrCollision) || !strings.Contains(res[1].Err.Error(), "web") {
		t.Errorf("web: %v, want a collision naming the service", res[1].Err)
	}
	if !errors.Is(res[0].Err, docker.ErrSecretExists) {
		t.Errorf("api: %v, want the user's secret reported", res[0].Err)
	}
	if sw.count("UpdateServiceSecrets") != 0 {
		t.Fatal("a service was updated despite a collision")
	}
	if got := sw.secretNames(); !slices.Contains(got, "certdock.example.com.v1.cert.pem") || !slices.Contains(got, "mine") {
		t.Fatalf("a user's secret was removed: %v", got)
	}
}

func TestDeliverRollbackBacksOff(t *testing.T) {
	ctx := context.Background()
	sw := newFakeSwarm("web")
	sw.rollback["web"] = true
	now := time.Now()
	d := newTestDeliverer(sw, &fakeFiles{}, &now)
	v1 := lineage(t, "example.com", 1)
	r := one(t, d.Deliver(ctx, []controller.Delivery{want(v1, "web")}))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "rollback_completed") || r.Version != 0 {
		t.Fatalf("rolled-back update: %+v, want Swarm's message and version 0", r)
	}
	// Within the backoff, the same references are not sent again.
	r = one(t, d.Deliver(ctx, []controller.Delivery{want(v1, "web")}))
	if r.Err == nil || sw.count("UpdateServiceSecrets") != 1 {
		t.Fatalf("retried within the backoff: %+v, %d updates", r, sw.count("UpdateServiceSecrets"))
	}
	// After it, they are; once the service accepts them, the failure ends.
	now = now.Add(2 * time.Minute)
	sw.rollback["web"] = false
	r = one(t, d.Deliver(ctx, []controller.Delivery{want(v1, "web")}))
	if r.Err != nil || r.Version != 1 || sw.count("UpdateServiceSecrets") != 2 {
		t.Fatalf("after the backoff: %+v, %d updates", r, sw.count("UpdateServiceSecrets"))
	}
}

func TestDeliverPausedUpdateIsAFailure(t *testing.T) {
	ctx := context.Background()
	sw, d, _ := setup("web")
	v1 := lineage(t, "example.com", 1)
	one(t, d.Deliver(ctx, []controller.Delivery{want(v1, "web")}))
	sw.services["web"].state, sw.services["web"].message = "paused", "update paused due to failure or early termination of task x"
	r := one(t, d.Deliver(ctx, []controller.Delivery{want(v1, "web")}))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "early termination") {
		t.Fatalf("paused update: %+v, want Swarm's message", r)
	}
}

func TestDeliverOutOfSequenceReplans(t *testing.T) {
	ctx := context.Background()
	sw, d, _ := setup("web")
	v1 := lineage(t, "example.com", 1)
	// Someone updates the service between the listing and the update.
	racer := &racingSwarm{fakeSwarm: sw}
	d.eng = racer
	r := one(t, d.Deliver(ctx, []controller.Delivery{want(v1, "web")}))
	if r.Err != nil || !r.Changed {
		t.Fatalf("after a concurrent update: %+v", r)
	}
	if got := sw.refs("web"); len(got) != 5 || !slices.Contains(got, "other@other") {
		t.Fatalf("refs %v: want certdock's four and the concurrent writer's", got)
	}
}

// racingSwarm adds a reference of its own to service web right after the
// first listing, as a concurrent writer would.
type racingSwarm struct {
	*fakeSwarm
	raced bool
}

func (r *racingSwarm) AllServiceSecrets(ctx context.Context) ([]docker.ServiceSecrets, error) {
	out, err := r.fakeSwarm.AllServiceSecrets(ctx)
	if !r.raced {
		r.raced = true
		r.addUserSecret("other")
		r.mu.Lock()
		s := r.services["web"]
		s.refs = append(s.refs, docker.SecretRef{SecretName: "other", File: "other"})
		s.version++
		r.mu.Unlock()
	}
	return out, err
}

func TestDeliverFilesErrorNamesService(t *testing.T) {
	ctx := context.Background()
	sw := newFakeSwarm("web")
	now := time.Now()
	d := newTestDeliverer(sw, &fakeFiles{err: errors.New("store: files example.com: corrupt")}, &now)
	r := one(t, d.Deliver(ctx, []controller.Delivery{want(lineage(t, "example.com", 1), "web")}))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "service web") || sw.count("UpdateServiceSecrets") != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestDeliverMissingService(t *testing.T) {
	sw := newFakeSwarm()
	now := time.Now()
	d := newTestDeliverer(sw, &fakeFiles{}, &now)
	r := one(t, d.Deliver(context.Background(), []controller.Delivery{want(lineage(t, "example.com", 1), "gone")}))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "gone") {
		t.Fatalf("%+v", r)
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 7: time.Hour, 50: time.Hour} {
		if got := backoff(time.Minute, time.Hour, n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}
