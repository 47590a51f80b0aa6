package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// sandboxA is the address every name resolves to.
var sandboxA = net.IPv4(127, 0, 0, 1)

// dnsHandler answers every query authoritatively from a txtStore.
//
// The server pretends to be authoritative for the whole namespace:
//   - every name exists and owns an A record 127.0.0.1;
//   - TXT records come from the store (several values per name are served as
//     one RRset, duplicates removed);
//   - a SOA query for any name is answered with a SOA record whose owner is
//     the name's last two labels (example.com. for www.example.com.), which is
//     what zone-apex discovery in ACME clients looks for;
//   - a name that owns no record of the asked type gets NOERROR with an empty
//     answer and that SOA in the authority section (RFC 2308 NODATA);
//   - names under the reserved TLD "invalid." (RFC 6761) do not exist and get
//     NXDOMAIN.
//
// All TTLs, including the negative-caching TTL, are 0, so nothing in between
// can serve a stale challenge value.
type dnsHandler struct {
	store *txtStore
	log   *slog.Logger
}

// zoneApex returns the zone the server claims name (canonical, fully
// qualified) belongs to: its last two labels, or name itself when it has
// fewer.
func zoneApex(name string) string {
	labels := dns.SplitDomainName(name)
	if len(labels) <= 2 {
		return name
	}
	return strings.Join(labels[len(labels)-2:], ".") + "."
}

func soaFor(zone string) *dns.SOA {
	ns := "ns." + zone
	mbox := "hostmaster." + zone
	if zone == "." {
		ns, mbox = "ns.sandbox.invalid.", "hostmaster.sandbox.invalid."
	}
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 0},
		Ns:      ns,
		Mbox:    mbox,
		Serial:  1,
		Refresh: 60,
		Retry:   60,
		Expire:  3600,
		Minttl:  0,
	}
}

// splitTXT cuts a value into RFC 1035 character-strings of at most 255
// octets; resolvers join them back.
func splitTXT(v string) []string {
	if len(v) <= 255 {
		return []string{v}
	}
	var parts []string
	for len(v) > 255 {
		parts = append(parts, v[:255])
		v = v[255:]
	}
	return append(parts, v)
}

func (h *dnsHandler) reply(req *dns.Msg) *dns.Msg {
	resp := new(dns.Msg)
	if req.Opcode != dns.OpcodeQuery {
		return resp.SetRcode(req, dns.RcodeNotImplemented)
	}
	if len(req.Question) != 1 {
		return resp.SetRcode(req, dns.RcodeFormatError)
	}
	q := req.Question[0]
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		return resp.SetRcode(req, dns.RcodeRefused)
	}
	resp.SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = false

	name := canonicalName(q.Name)
	zone := zoneApex(name)
	if name == "invalid." || strings.HasSuffix(name, ".invalid.") {
		resp.Rcode = dns.RcodeNameError
		resp.Ns = []dns.RR{soaFor("invalid.")}
		return resp
	}

	// Records are owned by the name as asked (case preserved, RFC 4343).
	owner := dns.Fqdn(q.Name)
	if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
		resp.Answer = append(resp.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0},
			A:   sandboxA,
		})
	}
	if q.Qtype == dns.TypeTXT || q.Qtype == dns.TypeANY {
		for _, v := range h.store.lookup(name) {
			resp.Answer = append(resp.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 0},
				Txt: splitTXT(v),
			})
		}
	}
	if q.Qtype == dns.TypeSOA {
		resp.Answer = append(resp.Answer, soaFor(zone))
	}
	if len(resp.Answer) == 0 {
		resp.Ns = []dns.RR{soaFor(zone)}
	}
	return resp
}

// ServeDNS implements dns.Handler.
func (h *dnsHandler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := h.reply(req)
	if opt := req.IsEdns0(); opt != nil && resp.Rcode != dns.RcodeFormatError {
		resp.SetEdns0(dns.DefaultMsgSize, false)
	}
	if _, udp := w.LocalAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
		resp.Truncate(size)
	}
	if len(req.Question) == 1 {
		q := req.Question[0]
		h.log.Debug("sandbox dns query",
			"name", q.Name, "type", dns.TypeToString[q.Qtype],
			"rcode", dns.RcodeToString[resp.Rcode], "answers", len(resp.Answer))
	}
	if err := w.WriteMsg(resp); err != nil {
		h.log.Debug("sandbox dns: writing response", "err", err)
	}
}

// dnsServer is the UDP and TCP pair serving one dnsHandler on one port.
type dnsServer struct {
	addr   string
	udp    *dns.Server
	tcp    *dns.Server
	served chan error // one value per server when its serve loop returns
}

// listenDNS binds UDP and TCP on the same free loopback port. The UDP port is
// picked by the kernel; if its TCP twin is taken, it tries another one.
func listenDNS() (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("sandbox dns: listen udp: %w", err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			return pc, ln, nil
		}
		lastErr = err
		_ = pc.Close()
	}
	return nil, nil, fmt.Errorf("sandbox dns: no loopback port free for both UDP and TCP: %w", lastErr)
}

// startDNS serves handler on a fresh loopback port and returns once both the
// UDP and TCP servers are accepting queries.
func startDNS(ctx context.Context, handler dns.Handler) (*dnsServer, error) {
	pc, ln, err := listenDNS()
	if err != nil {
		return nil, err
	}
	s := &dnsServer{
		addr:   ln.Addr().String(),
		served: make(chan error, 2),
	}
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.udp = &dns.Server{PacketConn: pc, Handler: handler, NotifyStartedFunc: notify}
	s.tcp = &dns.Server{Listener: ln, Handler: handler, NotifyStartedFunc: notify}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		go func() { s.served <- srv.ActivateAndServe() }()
	}

	for pending := 2; pending > 0; {
		select {
		case <-started:
			pending--
		case err := <-s.served:
			// A serve loop ended before both were up: tear down whatever
			// did start. Closing the sockets ends a loop that is running
			// or about to run.
			_ = pc.Close()
			_ = ln.Close()
			if err == nil {
				err = errors.New("server stopped")
			}
			return nil, fmt.Errorf("sandbox dns: %w", err)
		case <-ctx.Done():
			_ = pc.Close()
			_ = ln.Close()
			return nil, ctx.Err()
		}
	}
	return s, nil
}

// shutdown stops both servers and waits for their serve loops to return.
func (s *dnsServer) shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if err := srv.ShutdownContext(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for range 2 {
		select {
		case err := <-s.served:
			if err != nil {
				errs = append(errs, err)
			}
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
			return fmt.Errorf("sandbox dns shutdown: %w", errors.Join(errs...))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("sandbox dns shutdown: %w", errors.Join(errs...))
	}
	return nil
}
