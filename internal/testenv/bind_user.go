package testenv

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// NSUpdate runs bind's nsupdate against this server with the TSIG key
// file, as an operator creating records by hand would: each line of
// records is a record in zone-file syntax ("NAME IN TXT \"value\"", as
// `certdock check` prints them) and is added with a 300 s TTL in one
// update. It fails t if nsupdate is missing (Debian package
// bind9-dnsutils; skipped outside CI) or the server refuses the update.
func (b *Bind) NSUpdate(t testing.TB, records ...string) {
	t.Helper()
	bin := requireBinary(t, "nsupdate", "bind9-dnsutils")
	host, port, _ := strings.Cut(b.Addr, ":")
	var script strings.Builder
	script.WriteString("server " + host + " " + port + "\n")
	for _, r := range records {
		name, rest, ok := strings.Cut(strings.TrimSpace(r), " ")
		if !ok {
			t.Fatalf("testenv: NSUpdate: %q is not a record in zone-file syntax", r)
		}
		script.WriteString("update add " + name + " 300 " + strings.TrimSpace(rest) + "\n")
	}
	script.WriteString("send\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// -v: TCP, as lego's provider and the harness send updates.
	cmd := exec.CommandContext(ctx, bin, "-v", "-k", b.KeyFile)
	cmd.Stdin = strings.NewReader(script.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: nsupdate: %v\n%s\nscript:\n%s", err, out, script.String())
	}
}

// Serial returns the SOA serial of zone as the server answers it: every
// dynamic update applied to the zone increments it, so an unchanged
// serial proves no record of the zone was written.
func (b *Bind) Serial(t testing.TB, zone string) uint32 {
	t.Helper()
	r := b.query(t, zone, dns.TypeSOA)
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial
		}
	}
	t.Fatalf("testenv: no SOA for %s at %s", zone, b.Addr)
	return 0
}

// UpdateLog returns the lines of named's log (the last 64 KiB of its
// output since the last Start) that record an applied dynamic update
// ("updating zone '…': adding an RR at …").
func (b *Bind) UpdateLog() []string {
	if b.proc == nil {
		return nil
	}
	var out []string
	for line := range strings.Lines(b.proc.out.String()) {
		if strings.Contains(line, "updating zone") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}
