package controller

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/certdock/certdock/cert"
)

// Current answers from the last pass's desired set and problems without
// reading the sources again; before any pass it reads them like Status.
func TestCurrentIsTheLastPass(t *testing.T) {
	var reads atomic.Int32
	lines := [][]string{{"a.example.com"}}
	src := SourceFunc(func(ctx context.Context) ([]cert.Spec, []error) {
		reads.Add(1)
		s, _ := specs(lines...)(ctx)
		return s, []error{errors.New("domains.conf:2: bad <name>")}
	})
	c := New(&memStore{}, &fakeIssuer{}, []Source{src}, nil, Options{DefaultKeyType: cert.EC256})
	ctx := context.Background()
	before, probs := c.Current(ctx)
	if len(before) != 1 || before[0].Spec == nil || len(probs) != 1 || reads.Load() != 1 {
		t.Fatalf("before the first pass: %d statuses, problems %v, %d reads", len(before), probs, reads.Load())
	}
	c.RunOnce(ctx)
	n := reads.Load()
	lines = [][]string{{"a.example.com"}, {"b.example.com"}} // not seen until the next pass
	got, probs := c.Current(ctx)
	if reads.Load() != n {
		t.Errorf("Current read the sources again")
	}
	if len(got) != 1 || got[0].Name != "a.example.com" || !strings.HasPrefix(got[0].Next, "renew at ") {
		t.Fatalf("statuses %+v", got)
	}
	if len(probs) != 1 || !strings.Contains(probs[0].Error(), "bad <name>") {
		t.Fatalf("problems %v", probs)
	}
}
