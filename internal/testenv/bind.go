package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const (
	// bindKeyName is the TSIG key name (as tsig-keygen writes it, without
	// the trailing dot).
	bindKeyName = "certdock-tsig"
	// bindStartAttempts bounds the retries when the chosen port was taken
	// between FreePort and named binding it.
	bindStartAttempts = 5
	// bindStartTimeout bounds how long named may take to answer.
	bindStartTimeout = 20 * time.Second
	// dnsTimeout bounds each query and update the harness sends.
	dnsTimeout = 5 * time.Second
	// recordTTL is the TTL of every record the harness writes.
	recordTTL = 60
)

// Bind is a running bind9 (named) server, authoritative for Zones and
// listening on Addr (UDP and TCP). Each zone accepts RFC 2136 updates of TXT
// and CNAME records anywhere in the zone when signed with the TSIG key.
// Each zone starts with an SOA, an NS record ns.ZONE, and A records
// (127.0.0.1) for ns.ZONE, the apex and the wildcard *.ZONE.
//
// For queries with recursion desired, it also acts as the resolver a CA
// would use: it follows CNAMEs from one of its zones into another (for
// delegated _acme-challenge names). It never queries other servers: names
// outside Zones get an authoritative NXDOMAIN from a local, empty root zone.
type Bind struct {
	// Addr is "127.0.0.1:PORT", for both UDP and TCP.
	Addr string
	// Zones are the zones served, lower-case and without a trailing dot,
	// e.g. "example.com".
	Zones []string
	// KeyName is the TSIG key name, fully qualified ("certdock-tsig."), as
	// miekg/dns wants it for Msg.SetTsig and Client.TsigSecret.
	KeyName string
	// KeyAlgorithm is the TSIG algorithm, fully qualified as miekg/dns
	// spells it: "hmac-sha256." (dns.HmacSHA256).
	KeyAlgorithm string
	// KeySecret is the base64 TSIG secret.
	KeySecret string
	// KeyFile is the key file written by tsig-keygen, usable as
	// DNSUPDATE_TSIG_FILE or in a named.conf include.
	KeyFile string

	// ZoneKeys, with StartBindZoneKeys, are one key per zone, each
	// allowed to update its zone only; nil otherwise.
	ZoneKeys map[string]ZoneKey

	// named, conf and proc let Stop and Start control the server.
	named, conf string
	proc        *process
}

// StartBind starts named (bind9) in the foreground on a free loopback port,
// authoritative for zones ("example.com" when none are given), and waits
// until it answers SOA queries for every zone over UDP and TCP. It skips t
// (fails it under CI=true) if named or tsig-keygen is not installed, and
// under -short. The server is stopped when t's cleanups run.
//
// All files (named.conf, zone files, journals, the key file) live in
// t.TempDir(). named runs as the invoking user; as root it keeps root, which
// is what a container needs (no "-u bind"). On a host where AppArmor enforces
// Debian's profile for /usr/sbin/named, named cannot read files under /tmp;
// scripts/test explains how to switch that profile to complain mode.
func StartBind(t testing.TB, zones ...string) *Bind {
	t.Helper()
	return startBind(t, false, zones...)
}

// startBind is StartBind; with zoneKeys every zone also gets a TSIG key of
// its own (see StartBindZoneKeys).
func startBind(t testing.TB, zoneKeys bool, zones ...string) *Bind {
	t.Helper()
	RequireE2E(t)
	named := requireBinary(t, "named", "bind9")
	keygen := requireBinary(t, "tsig-keygen", "bind9-utils")

	if len(zones) == 0 {
		zones = []string{"example.com"}
	}
	norm := make([]string, 0, len(zones))
	for _, z := range zones {
		z = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(z)), ".")
		if _, ok := dns.IsDomainName(z); !ok || z == "" || strings.Contains(z, "*") {
			t.Fatalf("testenv: StartBind: invalid zone name %q", z)
		}
		if slices.Contains(norm, z) {
			t.Fatalf("testenv: StartBind: zone %q given twice", z)
		}
		norm = append(norm, z)
	}

	dir := t.TempDir()
	b := &Bind{Zones: norm, KeyAlgorithm: dns.HmacSHA256, KeyFile: filepath.Join(dir, "tsig.key")}
	b.writeKey(t, keygen)
	if zoneKeys {
		b.writeZoneKeys(t, keygen, dir)
	}
	writeFile(t, filepath.Join(dir, "root.db"), rootZoneFile)
	for _, z := range b.Zones {
		writeFile(t, filepath.Join(dir, "db."+z), zoneFile(z))
	}

	conf := filepath.Join(dir, "named.conf")
	for attempt := 1; ; attempt++ {
		port := bindPort(t)
		b.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		writeFile(t, conf, b.namedConf(dir, port))
		// -g: foreground, log to stderr; -4: IPv4 only; -n 2: two worker
		// threads are plenty and keep many parallel servers cheap.
		p, err := startProcess(t, "named", nil, named, "-g", "-4", "-n", "2", "-c", conf)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		err = b.waitReady(p)
		if err == nil {
			b.named, b.conf, b.proc = named, conf, p
			return b
		}
		p.stop(t)
		out := p.out.String()
		if bindPortConflict(out) && attempt < bindStartAttempts {
			p.silence()
			t.Logf("testenv: named could not bind %s (attempt %d), retrying on another port", b.Addr, attempt)
			continue
		}
		p.silence()
		hint := ""
		if strings.Contains(strings.ToLower(out), "permission denied") {
			hint = "\n(permission denied: if AppArmor confines /usr/sbin/named, run " +
				"`apparmor_parser -r -C /etc/apparmor.d/usr.sbin.named` as root to put it in complain mode)"
		}
		t.Fatalf("testenv: named did not become ready on %s: %v%s\nnamed output:\n%s", b.Addr, err, hint, p.out.tail(tailLines))
		return nil
	}
}

// Stop stops named (SIGTERM; SIGKILL if it does not exit within a few
// seconds), as when the DNS server goes down: queries and updates sent to
// Addr are then refused. Stop on a stopped server does nothing.
func (b *Bind) Stop(t testing.TB) {
	t.Helper()
	if b.proc == nil {
		return
	}
	b.proc.stop(t)
	b.proc = nil
}

// Start starts named again after Stop, on the same address, with the same
// zones and key; the records written by updates before Stop are kept (named
// replays its journals). It waits until every zone answers, and fails t if
// the port was taken meanwhile. Start on a running server does nothing.
func (b *Bind) Start(t testing.TB) {
	t.Helper()
	if b.proc != nil {
		return
	}
	p, err := startProcess(t, "named", nil, b.named, "-g", "-4", "-n", "2", "-c", b.conf)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := b.waitReady(p); err != nil {
		p.stop(t)
		p.silence()
		t.Fatalf("testenv: named did not come back on %s: %v\nnamed output:\n%s", b.Addr, err, p.out.tail(tailLines))
	}
	b.proc = p
}

// bindPort picks named's port; tests replace it to provoke conflicts.
var bindPort = FreePort

// bindPortConflict reports whether named could not bind its port: with the
// UDP port taken it exits ("unable to listen on any configured
// interfaces"); with only the TCP port taken it logs "creating TCP socket:
// address in use" and keeps running without TCP, which Pebble needs.
func bindPortConflict(output string) bool {
	return addrInUse(output) || strings.Contains(output, "unable to listen on any configured interfaces")
}

// writeKey runs tsig-keygen and reads the secret back from its output.
func (b *Bind) writeKey(t testing.TB, keygen string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, keygen, "-a", "hmac-sha256", bindKeyName).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("testenv: tsig-keygen: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("testenv: tsig-keygen: %v", err)
	}
	writeFile(t, b.KeyFile, string(out))
	name, alg, secret, err := parseKeyFile(string(out))
	if err != nil {
		t.Fatalf("testenv: reading tsig-keygen output: %v\n%s", err, out)
	}
	if alg != "hmac-sha256" {
		t.Fatalf("testenv: tsig-keygen wrote algorithm %q, want hmac-sha256", alg)
	}
	b.KeyName = dns.Fqdn(name)
	b.KeySecret = secret
}

// parseKeyFile reads the first key clause of a named.conf fragment such as
//
//	key "name" {
//		algorithm hmac-sha256;
//		secret "base64";
//	};
func parseKeyFile(text string) (name, algorithm, secret string, err error) {
	unquote := func(s string) string { return strings.Trim(strings.TrimSuffix(s, ";"), `"`) }
	inKey := false
	for line := range strings.Lines(text) {
		f := strings.Fields(strings.TrimSpace(line))
		switch {
		case len(f) == 0:
		case !inKey && f[0] == "key" && len(f) >= 2:
			name, inKey = unquote(f[1]), true
		case inKey && f[0] == "algorithm" && len(f) >= 2:
			algorithm = unquote(f[1])
		case inKey && f[0] == "secret" && len(f) >= 2:
			secret = unquote(f[1])
		case inKey && strings.HasPrefix(f[0], "}"):
			inKey = false
			if name == "" || algorithm == "" || secret == "" {
				return "", "", "", errors.New("key clause lacks a name, algorithm or secret")
			}
			return name, algorithm, secret, nil
		}
	}
	return "", "", "", errors.New("no complete key clause found")
}

// rootZoneFile is the local root zone: just its SOA and NS.
const rootZoneFile = `$ORIGIN .
$TTL 60
@	IN SOA ns.root.invalid. hostmaster.root.invalid. ( 1 3600 600 86400 60 )
@	IN NS ns.root.invalid.
ns.root.invalid.	IN A 127.0.0.1
`

// zoneFile returns the initial contents of zone z.
func zoneFile(z string) string {
	return fmt.Sprintf(`$ORIGIN %[1]s.
$TTL %[2]d
@	IN SOA ns.%[1]s. hostmaster.%[1]s. ( 1 3600 600 86400 %[2]d )
@	IN NS ns.%[1]s.
@	IN A 127.0.0.1
ns	IN A 127.0.0.1
*	IN A 127.0.0.1
`, z, recordTTL)
}

// namedConf returns a self-contained named.conf: nothing is read from or
// written to /etc/bind, /run or /var, so several servers can run at once.
func (b *Bind) namedConf(dir string, port int) string {
	q := strconv.Quote
	var s strings.Builder
	fmt.Fprintf(&s, `include %s;

options {
	directory %s;
	pid-file none;
	lock-file none;
	session-keyfile %s;
	managed-keys-directory %s;
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	allow-query { any; };
	// Recursion (for queries with RD=1) only so that bind follows a CNAME
	// into another of its zones, as the recursive resolver of a real CA
	// does; Pebble's validator relies on its resolver for that, and an
	// authoritative-only bind stops at a CNAME that leaves the zone.
	recursion yes;
	allow-recursion { 127.0.0.1; };
	dnssec-validation no;
	notify no;
};

// No rndc control channel (it would try to bind 127.0.0.1:953).
controls { };

// A local, empty root zone: names outside the zones below get an immediate
// authoritative NXDOMAIN and nothing is ever sent to the Internet.
zone "." {
	type primary;
	file %s;
};
`, q(b.KeyFile), q(dir), q(filepath.Join(dir, "session.key")), q(dir), port, q(filepath.Join(dir, "root.db")))
	for _, z := range b.Zones {
		grant := ""
		if k, ok := b.ZoneKeys[z]; ok {
			fmt.Fprintf(&s, "\ninclude %s;\n", q(k.File))
			grant = fmt.Sprintf(" grant %s zonesub TXT CNAME;", q(strings.TrimSuffix(k.Name, ".")))
		}
		fmt.Fprintf(&s, `
zone %s {
	type primary;
	file %s;
	update-policy { grant %s zonesub TXT CNAME;%s };
};
`, q(z), q(filepath.Join(dir, "db."+z)), q(strings.TrimSuffix(b.KeyName, ".")), grant)
	}
	return s.String()
}

// waitReady polls until every zone answers an authoritative SOA over UDP
// and TCP, or named exits, or bindStartTimeout passes.
func (b *Bind) waitReady(p *process) error {
	deadline := time.Now().Add(bindStartTimeout)
	for {
		if done, err := p.exited(); done {
			return fmt.Errorf("named exited: %v", err)
		}
		if bindPortConflict(p.out.String()) {
			return fmt.Errorf("port %s is taken", b.Addr)
		}
		err := b.answersSOA()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no SOA answer after %v: %w", bindStartTimeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (b *Bind) answersSOA() error {
	for _, z := range b.Zones {
		for _, network := range []string{"udp", "tcp"} {
			m := new(dns.Msg)
			m.SetQuestion(dns.Fqdn(z), dns.TypeSOA)
			m.RecursionDesired = false
			c := &dns.Client{Net: network, Timeout: 500 * time.Millisecond}
			r, _, err := c.Exchange(m, b.Addr)
			if err != nil {
				return fmt.Errorf("SOA %s over %s: %w", z, network, err)
			}
			if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) == 0 {
				return fmt.Errorf("SOA %s over %s: rcode %s, aa=%t, %d answers",
					z, network, dns.RcodeToString[r.Rcode], r.Authoritative, len(r.Answer))
			}
		}
	}
	return nil
}

// Env returns the environment variables lego's dnsupdate provider (called
// rfc2136 before lego v5; the RFC2136_* spellings are still read as
// fallbacks) needs to update this server: DNSUPDATE_NAMESERVER,
// DNSUPDATE_TSIG_KEY, DNSUPDATE_TSIG_SECRET, DNSUPDATE_TSIG_ALGORITHM
// ("hmac-sha256."; lego's default would be hmac-sha1) and DNSUPDATE_ZONES
// (comma-separated), which spares lego the SOA lookup that finds the zone.
// Timing variables (DNSUPDATE_SEQUENCE_INTERVAL, DNSUPDATE_POLLING_INTERVAL,
// DNSUPDATE_PROPAGATION_TIMEOUT) are left to the caller.
func (b *Bind) Env() map[string]string {
	return map[string]string{
		"DNSUPDATE_NAMESERVER":     b.Addr,
		"DNSUPDATE_TSIG_KEY":       b.KeyName,
		"DNSUPDATE_TSIG_SECRET":    b.KeySecret,
		"DNSUPDATE_TSIG_ALGORITHM": b.KeyAlgorithm,
		"DNSUPDATE_ZONES":          strings.Join(b.Zones, ","),
	}
}

// TXT returns the TXT values at fqdn as this server answers them
// authoritatively (a non-recursive query), sorted; each record's
// character-strings are concatenated. Like any authoritative server, bind
// follows a CNAME at fqdn only within the same zone; queries with recursion
// desired (Pebble's validator, resolvers) also follow it into the other zones
// served here. TXT returns nil when the name has no TXT records or does not
// exist, and fails t on any other answer.
func (b *Bind) TXT(t testing.TB, fqdn string) []string {
	t.Helper()
	r := b.query(t, fqdn, dns.TypeTXT)
	var vals []string
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			vals = append(vals, strings.Join(txt.Txt, ""))
		}
	}
	slices.Sort(vals)
	return vals
}

// query sends a non-recursive question to the server (UDP, TCP if
// truncated) and fails t unless the answer is authoritative NOERROR or
// NXDOMAIN.
func (b *Bind) query(t testing.TB, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	c := &dns.Client{Timeout: dnsTimeout}
	r, _, err := c.Exchange(m, b.Addr)
	if err == nil && r.Truncated {
		c.Net = "tcp"
		r, _, err = c.Exchange(m, b.Addr)
	}
	if err != nil {
		t.Fatalf("testenv: query %s %s at %s: %v", name, dns.TypeToString[qtype], b.Addr, err)
	}
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		t.Fatalf("testenv: query %s %s at %s: rcode %s", name, dns.TypeToString[qtype], b.Addr, dns.RcodeToString[r.Rcode])
	}
	if !r.Authoritative {
		t.Fatalf("testenv: query %s %s at %s: answer is not authoritative (name outside %v?)", name, dns.TypeToString[qtype], b.Addr, b.Zones)
	}
	return r
}

// AddCNAME makes name a CNAME to target with a TSIG-signed RFC 2136 update
// (as a user delegating _acme-challenge names would), then checks that the
// server answers it. name must be inside one of the zones and must not be a
// zone apex or hold other records (bind silently ignores such a CNAME).
func (b *Bind) AddCNAME(t testing.TB, name, target string) {
	t.Helper()
	name, target = dns.Fqdn(strings.ToLower(name)), dns.Fqdn(strings.ToLower(target))
	zone := b.zoneOf(name)
	if zone == "" {
		t.Fatalf("testenv: AddCNAME: %s is not in any zone of this server %v", name, b.Zones)
	}
	m := new(dns.Msg)
	m.SetUpdate(zone)
	m.Insert([]dns.RR{&dns.CNAME{
		Hdr:    dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: recordTTL},
		Target: target,
	}})
	if err := b.update(m, b.KeySecret); err != nil {
		t.Fatalf("testenv: AddCNAME %s -> %s: %v", name, target, err)
	}
	r := b.query(t, name, dns.TypeCNAME)
	for _, rr := range r.Answer {
		if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, name) && strings.EqualFold(c.Target, target) {
			return
		}
	}
	t.Fatalf("testenv: AddCNAME %s -> %s: update accepted but the server does not answer it "+
		"(bind ignores a CNAME at a name that has other records): %v", name, target, r.Answer)
}

// zoneOf returns the longest served zone (fully qualified) containing name,
// or "".
func (b *Bind) zoneOf(name string) string {
	best := ""
	for _, z := range b.Zones {
		fz := dns.Fqdn(z)
		if dns.IsSubDomain(fz, name) && len(fz) > len(best) {
			best = fz
		}
	}
	return best
}

// update sends m signed with b's key name and the given secret over TCP and
// returns an error unless the server applied it.
func (b *Bind) update(m *dns.Msg, secret string) error {
	m.SetTsig(b.KeyName, b.KeyAlgorithm, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", Timeout: dnsTimeout, TsigSecret: map[string]string{b.KeyName: secret}}
	r, _, err := c.Exchange(m, b.Addr)
	if err != nil {
		return err
	}
	if r.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("server %s answered %s", b.Addr, dns.RcodeToString[r.Rcode])
	}
	return nil
}

// writeFile writes a file or fails t.
func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}
