package deliver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/docker"
)

// fakeSwarm is an in-memory Swarm manager: services with their secret
// references, and secrets.
type fakeSwarm struct {
	mu       sync.Mutex
	services map[string]*fakeService
	secrets  map[string]docker.Secret // by ID
	nextID   int
	// rollback makes every update of these services roll back.
	rollback map[string]bool
	calls    []string
}

type fakeService struct {
	version  uint64
	refs     []docker.SecretRef
	previous []docker.SecretRef
	hasPrev  bool
	state    string
	message  string
}

func newFakeSwarm(services ...string) *fakeSwarm {
	f := &fakeSwarm{services: map[string]*fakeService{}, secrets: map[string]docker.Secret{}, rollback: map[string]bool{}}
	for _, s := range services {
		f.services[s] = &fakeService{version: 1}
	}
	return f
}

func (f *fakeSwarm) call(s string) {
	f.calls = append(f.calls, s)
}

// count returns how many calls started with prefix.
func (f *fakeSwarm) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func (f *fakeSwarm) describe(name string, s *fakeService) docker.ServiceSecrets {
	out := docker.ServiceSecrets{ID: "id-" + name, Name: name, Version: s.version, Secrets: slices.Clone(s.refs), UpdateState: s.state, UpdateMessage: s.message}
	if s.hasPrev {
		out.PreviousSecrets = slices.Clone(s.previous)
	}
	return out
}

func (f *fakeSwarm) AllServiceSecrets(context.Context) ([]docker.ServiceSecrets, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("AllServiceSecrets")
	var out []docker.ServiceSecrets
	for _, n := range slices.Sorted(maps.Keys(f.services)) {
		out = append(out, f.describe(n, f.services[n]))
	}
	return out, nil
}

func (f *fakeSwarm) ServiceSecrets(_ context.Context, name string) (docker.ServiceSecrets, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("ServiceSecrets " + name)
	s, ok := f.services[name]
	if !ok {
		return docker.ServiceSecrets{}, fmt.Errorf("service %s: %w", name, docker.ErrNotFound)
	}
	return f.describe(name, s), nil
}

func (f *fakeSwarm) UpdateServiceSecrets(_ context.Context, name string, version uint64, refs []docker.SecretRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("UpdateServiceSecrets " + name)
	s, ok := f.services[name]
	if !ok {
		return docker.ErrNotFound
	}
	if s.version != version {
		return docker.ErrOutOfSequence
	}
	for _, r := range refs {
		if _, ok := f.byName(r.SecretName); !ok {
			return fmt.Errorf("secret %s does not exist", r.SecretName)
		}
	}
	s.previous, s.hasPrev, s.refs = s.refs, true, slices.Clone(refs)
	s.version++
	s.state = "completed"
	if f.rollback[name] {
		s.refs, s.previous = s.previous, s.refs
		s.version++
		s.state, s.message = "rollback_completed", "update rolled back due to failure or early termination of task"
		return fmt.Errorf("update rollback_completed: %s", s.message)
	}
	return nil
}

func (f *fakeSwarm) byName(name string) (docker.Secret, bool) {
	for _, s := range f.secrets {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return docker.Secret{}, false
}

func (f *fakeSwarm) Secrets(_ context.Context, labelKey string) ([]docker.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("Secrets")
	var out []docker.Secret
	for _, s := range f.secrets {
		if _, ok := s.Labels[labelKey]; ok {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeSwarm) CreateSecret(_ context.Context, name string, data []byte, labels map[string]string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("CreateSecret " + name)
	if len(data) == 0 {
		return "", errors.New("empty secret")
	}
	if s, ok := f.byName(name); ok {
		if maps.Equal(s.Labels, labels) {
			return s.ID, nil
		}
		return "", fmt.Errorf("secret %s: %w", name, docker.ErrSecretExists)
	}
	f.nextID++
	id := fmt.Sprintf("sec%d", f.nextID)
	f.secrets[id] = docker.Secret{ID: id, Name: name, Labels: labels}
	return id, nil
}

func (f *fakeSwarm) RemoveSecret(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("RemoveSecret " + id)
	s, ok := f.secrets[id]
	if !ok {
		return docker.ErrNotFound
	}
	for _, svc := range f.services {
		for _, r := range svc.refs {
			if strings.EqualFold(r.SecretName, s.Name) {
				return docker.ErrSecretInUse
			}
		}
	}
	delete(f.secrets, id)
	return nil
}

// addUserSecret creates a secret certdock did not create.
func (f *fakeSwarm) addUserSecret(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	id := fmt.Sprintf("user%d", f.nextID)
	f.secrets[id] = docker.Secret{ID: id, Name: name, Labels: map[string]string{"owner": "user"}}
}

// secretNames lists the secrets' names, sorted.
func (f *fakeSwarm) secretNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.secrets {
		out = append(out, s.Name)
	}
	slices.Sort(out)
	return out
}

// refs returns a service's current references as "name@file" strings.
func (f *fakeSwarm) refs(svc string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.services[svc].refs {
		out = append(out, r.SecretName+"@"+r.File)
	}
	slices.Sort(out)
	return out
}

// fakeFiles serves a lineage's files from its certificate.
type fakeFiles struct {
	mu    sync.Mutex
	reads int
	err   error
}

func (f *fakeFiles) Files(name string, certPEM []byte) (map[string][]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.err != nil {
		return nil, f.err
	}
	return map[string][]byte{
		"cert.pem": certPEM, "chain.pem": []byte("chain of " + name),
		"fullchain.pem": append(slices.Clone(certPEM), "chain"...), "privkey.pem": []byte("key of " + name),
	}, nil
}

// lineage makes version v of a lineage with a real (self-signed) leaf.
func lineage(t *testing.T, name string, v int) *cert.Lineage {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(v)), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &cert.Lineage{Name: name, Version: v, Domains: []string{name}, NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter,
		Leaf: leaf, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// want is a delivery of lin to svc with the default options.
func want(lin *cert.Lineage, svc string) controller.Delivery {
	return controller.Delivery{
		Spec:    cert.Spec{Name: lin.Name, Domains: lin.Domains},
		To:      cert.Delivery{Kind: cert.DeliverSecrets, Service: svc, UID: "0", GID: "0", Mode: cert.DefaultDeliveryMode, KeyMode: cert.DefaultDeliveryKeyMode},
		Lineage: lin,
	}
}
