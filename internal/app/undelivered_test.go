package app

import (
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
)

// A secrets delivery the labels ask for is reported, naming the service
// and the label, until delivery is wired.
func TestUndeliveredSecretsAreReported(t *testing.T) {
	specs := []cert.Spec{
		{Name: "a.example.com", Deliveries: []cert.Delivery{{Kind: cert.DeliverSecrets, Service: "web"}}},
		{Name: "b.example.com"},
	}
	got := undelivered("certdock", specs)
	if len(got) != 1 || !strings.Contains(got[0].Error(), "service web: label certdock.secrets") || !strings.Contains(got[0].Error(), "a.example.com") {
		t.Fatalf("problems %v", got)
	}
}
