package clusterstate

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/store"
)

// memConfigs is a VaultAPI in memory with Swarm's rules: names unique,
// data immutable, every write raising the version index.
type memConfigs struct {
	mu    sync.Mutex
	items []docker.Config
	index uint64
}

func (m *memConfigs) CreateConfig(_ context.Context, name string, data []byte, labels map[string]string) (docker.Config, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.items {
		if c.Name == name {
			if bytes.Equal(c.Data, data) && fmt.Sprint(c.Labels) == fmt.Sprint(labels) {
				return c, nil
			}
			return docker.Config{}, docker.ErrConfigExists
		}
	}
	m.index++
	c := docker.Config{ID: fmt.Sprintf("id%d", m.index), Name: name, Data: slices.Clone(data), Labels: labels, Index: m.index}
	m.items = append(m.items, c)
	return c, nil
}

func (m *memConfigs) Config(_ context.Context, name string) (docker.Config, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.items {
		if c.Name == name || c.ID == name {
			return c, nil
		}
	}
	return docker.Config{}, docker.ErrConfigNotFound
}

func (m *memConfigs) UpdateConfigLabels(_ context.Context, id string, index uint64, labels map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, c := range m.items {
		if c.ID == id {
			if c.Index != index {
				return docker.ErrOutOfSequence
			}
			m.index++
			m.items[i].Labels, m.items[i].Index = labels, m.index
			return nil
		}
	}
	return docker.ErrConfigNotFound
}

func (m *memConfigs) Configs(_ context.Context, key string) ([]docker.Config, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []docker.Config
	for _, c := range m.items {
		if _, ok := c.Labels[key]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memConfigs) RemoveConfig(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items = slices.DeleteFunc(m.items, func(c docker.Config) bool { return c.ID == id || c.Name == id })
	return nil
}

// selfSigned makes a bundle for name: a self-signed leaf as its own
// chain, with its key.
func selfSigned(t testing.TB, name string) cert.Bundle {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	leaf := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return cert.Bundle{Cert: leaf, Chain: leaf, PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})}
}

func TestVaultPushPull(t *testing.T) {
	ctx := context.Background()
	api := &memConfigs{}
	k := testKey(t, 5)
	v := NewVault(api, k, nil)
	a := store.New(t.TempDir(), store.Options{})
	b := store.New(t.TempDir(), store.Options{})
	meta := cert.IssueMeta{Server: "https://acme.example/dir"}

	// Node A holds two versions of one lineage, one of another, an
	// account and state.
	for _, name := range []string{"a.example", "a.example", "b.example"} {
		if _, err := a.Save(name, selfSigned(t, name), meta); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.WriteAccountFile("accounts/acme.example/dir/certdock/private_key.pem", []byte("ACCOUNT KEY")); err != nil {
		t.Fatal(err)
	}
	st := store.NewState()
	st.Lineage("a.example").Owned = true
	st.Lineage("a.example").Failures = 2
	if err := a.SaveState(st); err != nil {
		t.Fatal(err)
	}

	snap, err := v.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Push(ctx, snap, a); err == nil {
		t.Fatal("Push before Pull accepted")
	}
	if _, err := v.Pull(ctx, snap, a); err != nil {
		t.Fatal(err)
	}
	pushed, err := v.Push(ctx, snap, a)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pushed.Versions, []string{"a.example v2", "b.example v1"}) {
		t.Fatalf("pushed %v", pushed.Versions)
	}
	// Nothing private is readable in any config.
	for _, c := range api.items {
		if bytes.Contains(c.Data, []byte("PRIVATE KEY")) || bytes.Contains(c.Data, []byte("ACCOUNT KEY")) {
			t.Fatalf("config %s holds private material in clear", c.Name)
		}
	}
	// A second push publishes nothing.
	if again, err := v.Push(ctx, snap, a); err != nil || len(again.Versions)+len(again.Files) != 0 {
		t.Fatalf("second push: %+v, %v", again, err)
	}

	// Node B, empty, rebuilds from the swarm: same certificates, same
	// numbers, account and state.
	snap, _ = v.Snapshot(ctx)
	if _, err := v.Pull(ctx, snap, b); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.example", "b.example"} {
		la, _ := a.Load(name)
		lb, err := b.Load(name)
		if err != nil || lb.Version != la.Version || !bytes.Equal(lb.CertPEM, la.CertPEM) {
			t.Fatalf("%s on B: %+v, %v (A at version %d)", name, lb, err, la.Version)
		}
		fa, _ := a.Files(name, la.CertPEM)
		fb, _ := b.Files(name, lb.CertPEM)
		if !bytes.Equal(fa["privkey.pem"], fb["privkey.pem"]) {
			t.Fatalf("%s: key differs on B", name)
		}
	}
	acc, _ := os.ReadFile(filepath.Join(b.Root(), "accounts/acme.example/dir/certdock/private_key.pem"))
	if string(acc) != "ACCOUNT KEY" {
		t.Fatalf("account key on B: %q", acc)
	}
	if sb, _ := b.LoadState(); !sb.Lineages["a.example"].Owned || sb.Lineages["a.example"].Failures != 2 {
		t.Fatalf("state on B: %+v", sb.Lineages["a.example"])
	}
	// B's next renewal continues the numbering.
	if l, err := b.Save("a.example", selfSigned(t, "a.example"), meta); err != nil || l.Version != 3 {
		t.Fatalf("renewal on B: %v, %v", l, err)
	}

	// B becomes the holder and publishes version 3 and new state; the
	// older state record goes.
	st, _ = b.LoadState()
	st.Lineage("a.example").Failures = 0
	b.SaveState(st)
	snap, _ = v.Snapshot(ctx)
	if _, err := v.Pull(ctx, snap, b); err != nil {
		t.Fatal(err)
	}
	if res, err := v.Push(ctx, snap, b); err != nil || !slices.Equal(res.Versions, []string{"a.example v3"}) {
		t.Fatalf("B's push: %+v, %v", res, err)
	}
	n := 0
	for _, c := range api.items {
		if c.Labels[LabelPath] == StatePath {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d state records, want the newest only", n)
	}
	// A issued its own version 3 and died before publishing it: when it
	// comes back, the swarm's version 3 replaces it.
	if l, err := a.Save("a.example", selfSigned(t, "a.example"), meta); err != nil || l.Version != 3 {
		t.Fatalf("A's unpublished version 3: %v, %v", l, err)
	}
	snap, _ = v.Snapshot(ctx)
	if res, err := v.Pull(ctx, snap, a); err != nil || !slices.Contains(res.Versions, "a.example v3") {
		t.Fatalf("A's pull: %+v, %v", res, err)
	}
	la, _ := a.Load("a.example")
	lb, _ := b.Load("a.example")
	if la.Version != 3 || !bytes.Equal(la.CertPEM, lb.CertPEM) {
		t.Fatalf("A's live version 3 is not the swarm's")
	}

	// A holds the lease and removes b.example: its records go, and a
	// node pulling afterwards does not get it back.
	if err := a.Remove("b.example"); err != nil {
		t.Fatal(err)
	}
	if res, err := v.Push(ctx, snap, a); err != nil || !slices.Equal(res.Removed, []string{"b.example"}) {
		t.Fatalf("push after a removal: %+v, %v", res, err)
	}
	fresh := store.New(t.TempDir(), store.Options{})
	snap, _ = v.Snapshot(ctx)
	if _, err := v.Pull(ctx, snap, fresh); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Load("b.example"); err == nil {
		t.Fatal("a removed lineage came back from the swarm")
	}
	if _, err := fresh.Load("a.example"); err != nil {
		t.Fatalf("a.example: %v", err)
	}
}

func TestVaultWrongKeyNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	api := &memConfigs{}
	a := store.New(t.TempDir(), store.Options{})
	if _, err := a.Save("a.example", selfSigned(t, "a.example"), cert.IssueMeta{}); err != nil {
		t.Fatal(err)
	}
	right := NewVault(api, testKey(t, 1), nil)
	snap, _ := right.Snapshot(ctx)
	right.Pull(ctx, snap, a)
	if _, err := right.Push(ctx, snap, a); err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(api.items)

	wrong := NewVault(api, testKey(t, 2), nil)
	c := store.New(t.TempDir(), store.Options{})
	if _, err := c.Save("c.example", selfSigned(t, "c.example"), cert.IssueMeta{}); err != nil {
		t.Fatal(err)
	}
	snap, _ = wrong.Snapshot(ctx)
	_, err := wrong.Pull(ctx, snap, c)
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), KeyFileVar) {
		t.Fatalf("pull with the wrong key: %v", err)
	}
	if _, err := wrong.Push(ctx, snap, c); err == nil {
		t.Fatal("push after a failed pull accepted")
	}
	if len(api.items) != len(before) {
		t.Fatalf("the wrong key changed the swarm's state: %d configs, had %d", len(api.items), len(before))
	}
	if _, err := c.Load("a.example"); err == nil {
		t.Fatal("a pull that failed wrote a lineage")
	}
}
