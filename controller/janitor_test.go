package controller

import (
	"context"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
)

// Removal revokes every version that is still valid, not only the
// current one: a version superseded by renewals is still a valid
// certificate for names the user no longer wants.
func TestRemovalRevokesEveryValidVersion(t *testing.T) {
	st := &memStore{}
	iss := &fakeIssuer{}
	mem := NewMemory()
	lines := [][]string{{"a.example.com"}, {"gone.example.com"}}
	src := SourceFunc(func(ctx context.Context) ([]cert.Spec, []error) { return specs(lines...)(ctx) })
	c := New(st, iss, []Source{src}, nil, Options{Memory: mem, RevokeRemoved: true})
	c.RunOnce(context.Background())
	c.Renew(context.Background(), []string{"gone.example.com"}, true)
	c.Renew(context.Background(), []string{"gone.example.com"}, true)
	// An expired version is not sent to the CA.
	st.mu.Lock()
	st.old["gone.example.com"] = append(st.old["gone.example.com"], cert.Version{Number: 0, NotAfter: time.Now().Add(-time.Hour)})
	st.mu.Unlock()
	lines = lines[:1]
	c.RunOnce(context.Background())
	if got := iss.revoked.Load(); got != 3 {
		t.Fatalf("revoked %d certificates, want the 3 valid versions", got)
	}
	if _, err := st.Load("gone.example.com"); err == nil {
		t.Fatal("the removed lineage is still there")
	}
	if _, ok := mem.Get("gone.example.com"); ok {
		t.Fatal("the removed lineage is still recorded")
	}
}
