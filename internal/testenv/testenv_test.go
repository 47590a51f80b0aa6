package testenv_test

import (
	"encoding/json"
	"encoding/pem"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/certdock/certdock/internal/testenv"
)

// insertTXT sends an RFC 2136 update inserting a TXT record at name, signed
// with b's key name and the given secret, and returns the rcode (or error).
func insertTXT(t *testing.T, b *testenv.Bind, zone, name, value, secret string) (int, error) {
	t.Helper()
	m := new(dns.Msg)
	m.SetUpdate(dns.Fqdn(zone))
	m.Insert([]dns.RR{&dns.TXT{
		Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
		Txt: []string{value},
	}})
	m.SetTsig(b.KeyName, b.KeyAlgorithm, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second, TsigSecret: map[string]string{b.KeyName: secret}}
	r, _, err := c.Exchange(m, b.Addr)
	if err != nil {
		return -1, err
	}
	return r.Rcode, nil
}

// resolveTXT asks addr for the TXT at name with recursion desired, the way
// Pebble's validator does, and returns the values in the answer.
func resolveTXT(t *testing.T, addr, name string) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	r, _, err := (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("TXT %s: %v", name, err)
	}
	var vals []string
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			vals = append(vals, strings.Join(txt.Txt, ""))
		}
	}
	return vals
}

func TestBindTSIGUpdate(t *testing.T) {
	t.Parallel()
	start := time.Now()
	b := testenv.StartBind(t, "example.com", "Example.NET.")
	t.Logf("StartBind took %v", time.Since(start))

	if !slices.Equal(b.Zones, []string{"example.com", "example.net"}) {
		t.Errorf("Zones = %q, want normalised [example.com example.net]", b.Zones)
	}
	if host, _, err := net.SplitHostPort(b.Addr); err != nil || host != "127.0.0.1" {
		t.Errorf("Addr = %q, want 127.0.0.1:PORT", b.Addr)
	}
	if b.KeyAlgorithm != dns.HmacSHA256 || b.KeyName != dns.Fqdn(b.KeyName) || b.KeySecret == "" || b.KeyFile == "" {
		t.Errorf("key = %q %q %q %q", b.KeyName, b.KeyAlgorithm, b.KeySecret, b.KeyFile)
	}

	name := "_acme-challenge.www.example.com"
	if got := b.TXT(t, name); got != nil {
		t.Fatalf("TXT before update = %q, want none", got)
	}
	rcode, err := insertTXT(t, b, "example.com", name, "token-1", b.KeySecret)
	if err != nil || rcode != dns.RcodeSuccess {
		t.Fatalf("signed update: rcode %s, err %v", dns.RcodeToString[rcode], err)
	}
	if got := b.TXT(t, name); !slices.Equal(got, []string{"token-1"}) {
		t.Fatalf("TXT after update = %q, want [token-1]", got)
	}

	// Same key name, wrong secret: bind must refuse it (NOTAUTH / BADSIG;
	// miekg/dns may report that as an error on the unsigned reply).
	wrong := "c2VjcmV0LXRoYXQtYmluZC1kb2VzLW5vdC1rbm93LXh4eHg="
	rcode, err = insertTXT(t, b, "example.com", name, "forged", wrong)
	if err == nil && rcode == dns.RcodeSuccess {
		t.Fatal("update signed with a wrong secret was accepted")
	}
	t.Logf("wrong secret refused: rcode %s, err %v", dns.RcodeToString[rcode], err)
	if got := b.TXT(t, name); !slices.Equal(got, []string{"token-1"}) {
		t.Fatalf("TXT after forged update = %q, want [token-1]", got)
	}

	// Updates work in every zone, and the wildcard does not hide TXT.
	rcode, err = insertTXT(t, b, "example.net", "_acme-challenge.example.net", "token-2", b.KeySecret)
	if err != nil || rcode != dns.RcodeSuccess {
		t.Fatalf("signed update in example.net: rcode %s, err %v", dns.RcodeToString[rcode], err)
	}
	if got := b.TXT(t, "_acme-challenge.example.net."); !slices.Equal(got, []string{"token-2"}) {
		t.Fatalf("TXT in example.net = %q, want [token-2]", got)
	}

	// Delegation: a CNAME into another zone, resolved by the validator.
	b.AddCNAME(t, "_acme-challenge.shop.example.com", "shop.acme.example.net")
	rcode, err = insertTXT(t, b, "example.net", "shop.acme.example.net", "token-3", b.KeySecret)
	if err != nil || rcode != dns.RcodeSuccess {
		t.Fatalf("signed update of the CNAME target: rcode %s, err %v", dns.RcodeToString[rcode], err)
	}
	// Authoritatively (RD=0), bind stops at a CNAME that leaves the zone...
	if got := b.TXT(t, "_acme-challenge.shop.example.com"); got != nil {
		t.Errorf("authoritative TXT at a cross-zone CNAME = %q, want none", got)
	}
	// ...but with RD=1, as Pebble's validator asks, it follows it.
	if got := resolveTXT(t, b.Addr, "_acme-challenge.shop.example.com"); !slices.Equal(got, []string{"token-3"}) {
		t.Fatalf("recursive TXT through CNAME = %q, want [token-3]", got)
	}
	// Names outside the zones fail at once, without going to the Internet.
	m := new(dns.Msg)
	m.SetQuestion("www.certdock-not-served.org.", dns.TypeA)
	r, rtt, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, b.Addr)
	if err != nil || r.Rcode != dns.RcodeNameError {
		t.Errorf("out-of-zone query: %v, err %v", r, err)
	} else if rtt > time.Second {
		t.Errorf("out-of-zone query took %v", rtt)
	}

	env := b.Env()
	for _, k := range []string{"DNSUPDATE_NAMESERVER", "DNSUPDATE_TSIG_KEY", "DNSUPDATE_TSIG_SECRET", "DNSUPDATE_TSIG_ALGORITHM", "DNSUPDATE_ZONES"} {
		if env[k] == "" {
			t.Errorf("Env()[%s] is empty", k)
		}
	}
	if env["DNSUPDATE_NAMESERVER"] != b.Addr || env["DNSUPDATE_TSIG_ALGORITHM"] != "hmac-sha256." || env["DNSUPDATE_ZONES"] != "example.com,example.net" {
		t.Errorf("Env() = %v", env)
	}
}

func TestPebbleAgainstBind(t *testing.T) {
	t.Parallel()
	b := testenv.StartBind(t, "example.com")
	start := time.Now()
	p := testenv.StartPebble(t, b.Addr, &testenv.PebbleOptions{ShortLived: true})
	t.Logf("StartPebble took %v", time.Since(start))

	if !strings.HasPrefix(p.DirectoryURL, "https://127.0.0.1:") || !strings.HasSuffix(p.DirectoryURL, "/dir") {
		t.Errorf("DirectoryURL = %q", p.DirectoryURL)
	}
	resp, err := p.HTTPClient().Get(p.DirectoryURL)
	if err != nil {
		t.Fatalf("GET directory: %v", err)
	}
	defer resp.Body.Close()
	var dir struct {
		NewNonce    string `json:"newNonce"`
		NewAccount  string `json:"newAccount"`
		NewOrder    string `json:"newOrder"`
		RenewalInfo string `json:"renewalInfo"`
		Meta        struct {
			Profiles map[string]string `json:"profiles"`
		} `json:"meta"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&dir); err != nil {
		t.Fatalf("decoding directory: %v", err)
	}
	if dir.NewNonce == "" || dir.NewAccount == "" || dir.NewOrder == "" || dir.RenewalInfo == "" {
		t.Errorf("directory lacks endpoints: %+v", dir)
	}
	var profiles []string
	for name := range dir.Meta.Profiles {
		profiles = append(profiles, name)
	}
	slices.Sort(profiles)
	if !slices.Equal(profiles, []string{testenv.DefaultProfile, testenv.ShortLivedProfile}) {
		t.Errorf("profiles = %q, want [default shortlived]", profiles)
	}

	rootPEM := p.RootPEM(t)
	blk, _ := pem.Decode(rootPEM)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("RootPEM is not a PEM certificate: %q", rootPEM)
	}
	if p.Roots(t) == nil {
		t.Fatal("Roots returned nil")
	}

	// A second Pebble has its own root, and takes extra profiles and EAB.
	p2 := testenv.StartPebble(t, b.Addr, &testenv.PebbleOptions{
		Profiles: map[string]testenv.PebbleProfile{"hourly": {Description: "one hour", Validity: time.Hour}},
		EABKeys:  map[string]string{"kid-1": "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"},
	})
	if string(p2.RootPEM(t)) == string(rootPEM) {
		t.Error("two Pebble instances share a root")
	}
	if p2.DirectoryURL == p.DirectoryURL {
		t.Error("two Pebble instances share a port")
	}
	resp2, err := p2.HTTPClient().Get(p2.DirectoryURL)
	if err != nil {
		t.Fatalf("GET directory: %v", err)
	}
	defer resp2.Body.Close()
	var dir2 struct {
		Meta struct {
			Profiles                map[string]string `json:"profiles"`
			ExternalAccountRequired bool              `json:"externalAccountRequired"`
		} `json:"meta"`
	}
	if err := json.NewDecoder(resp2.Body).Decode(&dir2); err != nil {
		t.Fatalf("decoding directory: %v", err)
	}
	if len(dir2.Meta.Profiles) != 2 || dir2.Meta.Profiles["hourly"] != "one hour" || dir2.Meta.Profiles[testenv.DefaultProfile] == "" {
		t.Errorf("profiles with options = %q, want default and hourly", dir2.Meta.Profiles)
	}
	if !dir2.Meta.ExternalAccountRequired {
		t.Error("EABKeys given but the directory does not require external account binding")
	}
}

func TestFreePortDistinct(t *testing.T) {
	t.Parallel()
	seen := map[int]bool{}
	for range 20 {
		port := testenv.FreePort(t)
		if port <= 0 || port > 65535 || seen[port] {
			t.Fatalf("FreePort returned %d (seen before: %t)", port, seen[port])
		}
		seen[port] = true
	}
}

func TestDockerAndBusybox(t *testing.T) {
	t.Parallel()
	t.Run("docker", func(t *testing.T) {
		testenv.RequireDocker(t)
	})
	t.Run("busybox", func(t *testing.T) {
		if p := testenv.BusyboxPath(t); p == "" {
			t.Fatal("BusyboxPath returned an empty path")
		}
	})
}
