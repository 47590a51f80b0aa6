package testenv_test

import (
	"slices"
	"testing"

	"github.com/certdock/certdock/internal/testenv"
)

// TestNSUpdate adds a record with nsupdate as an operator would and sees
// it answered, the zone's serial moved and the update in named's log.
func TestNSUpdate(t *testing.T) {
	b := testenv.StartBind(t, "example.com")
	before := b.Serial(t, "example.com")
	if got := b.UpdateLog(); len(got) != 0 {
		t.Fatalf("updates before any: %q", got)
	}
	b.NSUpdate(t, `_validation-persist.a.example.com. IN TXT "ca.example; accounturi=https://ca.example/acct/1"`)
	if got := b.TXT(t, "_validation-persist.a.example.com"); !slices.Equal(got, []string{"ca.example; accounturi=https://ca.example/acct/1"}) {
		t.Fatalf("TXT = %q", got)
	}
	if after := b.Serial(t, "example.com"); after == before {
		t.Errorf("serial unchanged after an update: %d", after)
	}
	if got := b.UpdateLog(); len(got) == 0 {
		t.Errorf("no update in named's log")
	}
}
