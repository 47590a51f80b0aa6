package issuer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/certdock/certdock/dnspersist"
)

// persistTTL is the TTL of the dns-persist-01 records certdock creates.
const persistTTL = 3600

// PersistWriter returns the RecordWriter that creates missing
// dns-persist-01 records through the DNS provider called provider, with
// its variables read through getenv (X_FILE variants included); nil when
// the provider cannot write a TXT record at an arbitrary name (every
// provider but rfc2136, whose lego API writes only _acme-challenge
// records). An rfc2136 provider whose variables are incomplete returns
// the error naming them.
func PersistWriter(provider string, getenv func(string) string) (RecordWriter, error) {
	switch provider {
	case "rfc2136", "dnsupdate":
		w, err := newRFC2136Writer(getenv)
		if err != nil {
			return nil, err // never a typed nil
		}
		return w, nil
	}
	return nil, nil
}

// rfc2136Writer inserts TXT records with TSIG-signed RFC 2136 updates,
// from lego's dnsupdate (rfc2136) variables.
type rfc2136Writer struct {
	nameserver string
	keyName    string
	algorithm  string
	secret     string
	zones      []string
}

func newRFC2136Writer(getenv func(string) string) (*rfc2136Writer, error) {
	get := func(name string) string { return envOrFile(getenv, "DNSUPDATE_"+name, "RFC2136_"+name) }
	w := &rfc2136Writer{
		nameserver: get("NAMESERVER"),
		keyName:    get("TSIG_KEY"),
		secret:     get("TSIG_SECRET"),
		algorithm:  get("TSIG_ALGORITHM"),
	}
	if f := get("TSIG_FILE"); f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("DNSUPDATE_TSIG_FILE: %w", err)
		}
		if w.keyName, w.algorithm, w.secret, err = readTSIGKey(string(data)); err != nil {
			return nil, fmt.Errorf("DNSUPDATE_TSIG_FILE %s: %w", f, err)
		}
	}
	if w.nameserver == "" {
		return nil, errors.New("DNSUPDATE_NAMESERVER is not set")
	}
	if !strings.Contains(w.nameserver, ":") || strings.HasSuffix(w.nameserver, "]") {
		w.nameserver += ":53"
	}
	if w.algorithm == "" {
		w.algorithm = dns.HmacSHA1 // lego's default
	}
	w.algorithm = dns.Fqdn(strings.ToLower(w.algorithm))
	if w.keyName != "" {
		w.keyName = dns.CanonicalName(w.keyName)
	}
	for z := range strings.SplitSeq(get("ZONES"), ",") {
		if z = strings.TrimSpace(z); z != "" {
			w.zones = append(w.zones, dns.Fqdn(strings.ToLower(z)))
		}
	}
	return w, nil
}

// WriteTXT implements RecordWriter: one insert (existing records at the
// name are kept), signed with the TSIG key when one is set.
func (w *rfc2136Writer) WriteTXT(ctx context.Context, fqdn, value string) error {
	fqdn = dns.Fqdn(strings.ToLower(fqdn))
	zone, err := w.zone(ctx, fqdn)
	if err != nil {
		return err
	}
	m := new(dns.Msg).SetUpdate(zone)
	m.Insert([]dns.RR{&dns.TXT{
		Hdr: dns.RR_Header{Name: fqdn, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: persistTTL},
		Txt: dnspersist.SplitTXT(value),
	}})
	c := &dns.Client{Net: "tcp", Timeout: 10 * time.Second}
	if w.keyName != "" && w.secret != "" {
		m.SetTsig(w.keyName, w.algorithm, 300, time.Now().Unix())
		c.TsigSecret = map[string]string{w.keyName: w.secret}
	}
	r, _, err := c.ExchangeContext(ctx, m, w.nameserver)
	if err != nil {
		return fmt.Errorf("DNS update to %s: %w", w.nameserver, err)
	}
	if r.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("DNS update to %s: server answered %s (check DNSUPDATE_TSIG_* and the zone's update policy)", w.nameserver, dns.RcodeToString[r.Rcode])
	}
	return nil
}

// zone returns the zone of fqdn: the longest DNSUPDATE_ZONES suffix, else
// the name whose SOA the nameserver answers, walking up from fqdn.
func (w *rfc2136Writer) zone(ctx context.Context, fqdn string) (string, error) {
	best := ""
	for _, z := range w.zones {
		if dns.IsSubDomain(z, fqdn) && len(z) > len(best) {
			best = z
		}
	}
	if best != "" {
		return best, nil
	}
	if len(w.zones) > 0 {
		return "", fmt.Errorf("%s is in none of DNSUPDATE_ZONES", fqdn)
	}
	c := &dns.Client{Timeout: 5 * time.Second}
	labels := dns.SplitDomainName(fqdn)
	for n := range labels {
		name := dns.Fqdn(strings.Join(labels[n:], "."))
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeSOA)
		r, _, err := c.ExchangeContext(ctx, m, w.nameserver)
		if err != nil {
			return "", fmt.Errorf("finding the zone of %s at %s: %w", fqdn, w.nameserver, err)
		}
		for _, rr := range r.Answer {
			if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Hdr.Name, name) {
				return name, nil
			}
		}
	}
	return "", fmt.Errorf("no zone found for %s at %s (set DNSUPDATE_ZONES)", fqdn, w.nameserver)
}

// envOrFile returns the first of names set through getenv, or the
// contents of the file its _FILE variant names (trailing newline
// trimmed), as lego reads its variables.
func envOrFile(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
		if f := getenv(n + "_FILE"); f != "" {
			if data, err := os.ReadFile(f); err == nil {
				return strings.TrimRight(string(data), "\r\n")
			}
		}
	}
	return ""
}

// readTSIGKey reads the first key clause of a named.conf fragment as
// tsig-keygen writes it: key "name" { algorithm A; secret "S"; };
func readTSIGKey(text string) (name, algorithm, secret string, err error) {
	unquote := func(s string) string { return strings.Trim(strings.TrimSuffix(s, ";"), `"`) }
	fields := strings.Fields(strings.NewReplacer("{", " { ", "}", " } ", ";", " ; ").Replace(text))
	for n := 0; n+1 < len(fields); n++ {
		switch fields[n] {
		case "key":
			if name == "" {
				name = unquote(fields[n+1])
			}
		case "algorithm":
			if algorithm == "" {
				algorithm = unquote(fields[n+1])
			}
		case "secret":
			if secret == "" {
				secret = unquote(fields[n+1])
			}
		}
	}
	if name == "" || algorithm == "" || secret == "" {
		return "", "", "", errors.New("no complete key clause (key \"name\" { algorithm …; secret \"…\"; };)")
	}
	return name, algorithm, secret, nil
}
