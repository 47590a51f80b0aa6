package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// ZoneKey is a TSIG key that may update one zone of a Bind only, as a DNS
// host gives each customer (or each certdock profile) its own account.
type ZoneKey struct {
	// Zone is the only zone the key may update.
	Zone string
	// Name is the key's name, fully qualified ("certdock-zone-a.test.").
	Name string
	// Secret is the base64 secret; the algorithm is the server's
	// KeyAlgorithm (hmac-sha256).
	Secret string
	// File is the key file tsig-keygen wrote.
	File string
}

// StartBindZoneKeys is StartBind where every zone also gets a TSIG key of
// its own (ZoneKeys), allowed to update TXT and CNAME records in that zone
// and refused everywhere else. The shared key (KeyName) still updates
// every zone, for the harness's own records.
func StartBindZoneKeys(t testing.TB, zones ...string) *Bind {
	t.Helper()
	return startBind(t, true, zones...)
}

// writeZoneKeys runs tsig-keygen once per zone.
func (b *Bind) writeZoneKeys(t testing.TB, keygen, dir string) {
	t.Helper()
	b.ZoneKeys = map[string]ZoneKey{}
	for _, z := range b.Zones {
		name := "certdock-zone-" + z
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, keygen, "-a", "hmac-sha256", name).Output()
		cancel()
		if err != nil {
			t.Fatalf("testenv: tsig-keygen %s: %v", name, err)
		}
		file := filepath.Join(dir, "tsig-"+z+".key")
		writeFile(t, file, string(out))
		kname, alg, secret, err := parseKeyFile(string(out))
		if err != nil || alg != "hmac-sha256" {
			t.Fatalf("testenv: reading tsig-keygen output for %s: %v (algorithm %q)", name, err, alg)
		}
		b.ZoneKeys[z] = ZoneKey{Zone: z, Name: dns.Fqdn(kname), Secret: secret, File: file}
	}
}

// ZoneEnv is Env with the key of zone (see StartBindZoneKeys) instead of
// the shared one, and DNSUPDATE_ZONES set to that zone only.
func (b *Bind) ZoneEnv(t testing.TB, zone string) map[string]string {
	t.Helper()
	k, ok := b.ZoneKeys[zone]
	if !ok {
		t.Fatalf("testenv: ZoneEnv: no key of its own for zone %q (start the server with StartBindZoneKeys)", zone)
	}
	env := b.Env()
	env["DNSUPDATE_TSIG_KEY"] = k.Name
	env["DNSUPDATE_TSIG_SECRET"] = k.Secret
	env["DNSUPDATE_ZONES"] = zone
	return env
}

// UpdateTXT adds a TXT record at fqdn signed with the key of keyZone and
// returns the server's verdict: nil when it was accepted, an error naming
// the rcode (REFUSED, NOTAUTH) when the key may not update that name.
func (b *Bind) UpdateTXT(keyZone, fqdn, value string) error {
	k, ok := b.ZoneKeys[keyZone]
	if !ok {
		return fmt.Errorf("no key of its own for zone %q", keyZone)
	}
	fqdn = dns.Fqdn(strings.ToLower(fqdn))
	zone := b.zoneOf(fqdn)
	if zone == "" {
		return fmt.Errorf("%s is in no zone of this server", fqdn)
	}
	m := new(dns.Msg)
	m.SetUpdate(zone)
	m.Insert([]dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: fqdn, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: recordTTL}, Txt: []string{value}}})
	m.SetTsig(k.Name, b.KeyAlgorithm, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", Timeout: dnsTimeout, TsigSecret: map[string]string{k.Name: k.Secret}}
	r, _, err := c.Exchange(m, b.Addr)
	if err != nil {
		return err
	}
	if r.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("server %s answered %s", b.Addr, dns.RcodeToString[r.Rcode])
	}
	return nil
}
