package testenv_test

import (
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/certdock/certdock/internal/testenv"
)

func TestBindStopStart(t *testing.T) {
	b := testenv.StartBind(t, "example.com")
	addr := b.Addr
	name := "_acme-challenge.kept.example.com"
	if rcode, err := insertTXT(t, b, "example.com", name, "kept", b.KeySecret); err != nil || rcode != dns.RcodeSuccess {
		t.Fatalf("update: rcode %s, err %v", dns.RcodeToString[rcode], err)
	}

	b.Stop(t)
	b.Stop(t) // a second Stop is harmless
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeSOA)
	for _, network := range []string{"udp", "tcp"} {
		if _, _, err := (&dns.Client{Net: network, Timeout: 2 * time.Second}).Exchange(m, addr); err == nil {
			t.Errorf("stopped server answered over %s", network)
		}
	}
	if _, err := insertTXT(t, b, "example.com", name, "while-down", b.KeySecret); err == nil {
		t.Error("stopped server accepted an update")
	}

	b.Start(t)
	b.Start(t) // a second Start is harmless
	if b.Addr != addr {
		t.Fatalf("restarted on %s, want the same address %s", b.Addr, addr)
	}
	if got := b.TXT(t, name); !slices.Equal(got, []string{"kept"}) {
		t.Fatalf("TXT after restart = %q, want the record written before Stop", got)
	}
	if rcode, err := insertTXT(t, b, "example.com", name, "after", b.KeySecret); err != nil || rcode != dns.RcodeSuccess {
		t.Fatalf("update after restart: rcode %s, err %v", dns.RcodeToString[rcode], err)
	}
}
