package testenv

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// relayIdle is how long a UDP client's mapping lives without traffic.
const relayIdle = 30 * time.Second

// relayAttempts bounds the search for a port free for both TCP and UDP.
const relayAttempts = 20

// Relay forwards one port of another address to a loopback server, over
// TCP and UDP alike: a server of the test (Pebble, bind9) listening on the
// host's loopback becomes reachable from a swarm node at HostAddr, without
// listening on anything but the private bridge. TLS passes through
// untouched.
type Relay struct {
	// Addr is where clients connect: "HOST:PORT", the same port for TCP
	// and UDP.
	Addr string

	target string
	tcp    net.Listener
	udp    net.PacketConn

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool          // open TCP streams, both sides
	peers  map[string]*net.UDPConn    // UDP client address → upstream socket
	wg     sync.WaitGroup             // every goroutine of the relay
	idle   map[*net.UDPConn]time.Time // last traffic per upstream socket
}

// StartRelay listens on host (an IPv4 address of this machine, e.g. a
// Swarm's HostAddr) on a port free for both TCP and UDP, and forwards
// every TCP stream and UDP datagram to target ("127.0.0.1:PORT"), replies
// included. It stops, closing every stream and socket, in t's cleanup.
func StartRelay(t testing.TB, host, target string) *Relay {
	t.Helper()
	r := &Relay{target: target, conns: map[net.Conn]bool{}, peers: map[string]*net.UDPConn{}, idle: map[*net.UDPConn]time.Time{}}
	var err error
	for range relayAttempts {
		r.tcp, err = net.Listen("tcp4", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatalf("testenv: relay: %v", err)
		}
		port := r.tcp.Addr().(*net.TCPAddr).Port
		r.udp, err = net.ListenPacket("udp4", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			r.Addr = net.JoinHostPort(host, strconv.Itoa(port))
			break
		}
		r.tcp.Close()
	}
	if err != nil {
		t.Fatalf("testenv: relay: no port free for TCP and UDP on %s: %v", host, err)
	}
	r.wg.Add(2)
	go r.acceptTCP()
	go r.readUDP()
	t.Cleanup(r.Close)
	return r
}

// Close stops the relay and waits for its goroutines.
func (r *Relay) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.tcp.Close()
	r.udp.Close()
	for c := range r.conns {
		c.Close()
	}
	for _, u := range r.peers {
		u.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// track registers an open connection; false once the relay is closed
// (the connection is then closed).
func (r *Relay) track(c io.Closer, add func()) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		c.Close()
		return false
	}
	add()
	return true
}

func (r *Relay) acceptTCP() {
	defer r.wg.Done()
	for {
		c, err := r.tcp.Accept()
		if err != nil {
			return
		}
		if !r.track(c, func() { r.conns[c] = true }) {
			continue
		}
		r.wg.Add(1)
		go r.streamTCP(c)
	}
}

func (r *Relay) streamTCP(c net.Conn) {
	defer r.wg.Done()
	defer r.untrack(c)
	up, err := net.DialTimeout("tcp", r.target, 10*time.Second)
	if err != nil {
		return
	}
	if !r.track(up, func() { r.conns[up] = true }) {
		return
	}
	defer r.untrack(up)
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	// One side ended: closing both (by the deferred untracks) ends the
	// other copy; wait for it so no goroutine outlives Close.
	c.Close()
	up.Close()
	<-done
}

func (r *Relay) untrack(c net.Conn) {
	c.Close()
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

// readUDP reads datagrams from clients and sends each through the
// client's own upstream socket, so replies find their way back.
func (r *Relay) readUDP() {
	defer r.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := r.udp.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		up := r.upstream(from)
		if up == nil {
			continue
		}
		up.Write(buf[:n])
	}
}

// upstream returns the socket relaying for client from, dialling it (and
// starting its reply loop) on first use; nil when closed or on error.
func (r *Relay) upstream(from net.Addr) *net.UDPConn {
	key := from.String()
	r.mu.Lock()
	up := r.peers[key]
	if up != nil {
		r.idle[up] = time.Now()
	}
	r.mu.Unlock()
	if up != nil {
		return up
	}
	raddr, err := net.ResolveUDPAddr("udp", r.target)
	if err != nil {
		return nil
	}
	up, err = net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil
	}
	if !r.track(up, func() { r.peers[key] = up; r.idle[up] = time.Now() }) {
		return nil
	}
	r.wg.Add(1)
	go r.replyUDP(key, from, up)
	return up
}

// replyUDP copies the upstream's replies to the client until the relay
// closes or the mapping has been idle for relayIdle.
func (r *Relay) replyUDP(key string, client net.Addr, up *net.UDPConn) {
	defer r.wg.Done()
	defer func() {
		up.Close()
		r.mu.Lock()
		delete(r.peers, key)
		delete(r.idle, up)
		r.mu.Unlock()
	}()
	buf := make([]byte, 64<<10)
	for {
		up.SetReadDeadline(time.Now().Add(relayIdle))
		n, err := up.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				r.mu.Lock()
				last := r.idle[up]
				r.mu.Unlock()
				if time.Since(last) < relayIdle {
					continue
				}
			}
			return
		}
		r.udp.WriteTo(buf[:n], client)
	}
}
