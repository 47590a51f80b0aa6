package testenv

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Proxy forwards byte streams from a listener of its own to a target
// address, and can cut every connection and refuse new ones, to simulate a
// lost connection to the Docker engine (or any other server).
type Proxy struct {
	// Addr is where clients connect: a unix socket path for unix proxies.
	Addr string

	network, target string
	t               testing.TB

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	cut   bool
	count int
}

// DockerSocket returns the unix socket path of the Docker engine: the path
// of DOCKER_HOST when it is a unix:// URL, else /var/run/docker.sock.
func DockerSocket() string {
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		return strings.TrimPrefix(h, "unix://")
	}
	return "/var/run/docker.sock"
}

// StartUnixProxy listens on a new unix socket in a temporary directory and
// forwards every connection to the unix socket target. It stops in t's
// cleanup.
func StartUnixProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	dir, err := os.MkdirTemp("", "certdock-proxy-")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: filepath.Join(dir, "proxy.sock"), network: "unix", target: target, t: t, conns: map[net.Conn]bool{}}
	if err := p.listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Cut()
		os.RemoveAll(dir)
	})
	return p
}

// StartTCPProxy listens on a free loopback TCP port and forwards every
// connection to target ("127.0.0.1:PORT"), bytes only (TLS passes
// through). It stops in t's cleanup.
func StartTCPProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &Proxy{Addr: addr, network: "tcp", target: target, t: t, conns: map[net.Conn]bool{}}
	if err := p.listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Cut)
	return p
}

func (p *Proxy) listen() error {
	if p.network == "unix" {
		os.Remove(p.Addr)
	}
	ln, err := net.Listen(p.network, p.Addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln, p.cut = ln, false
	p.mu.Unlock()
	go p.accept(ln)
	return nil
}

func (p *Proxy) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = true
		p.count++
		p.mu.Unlock()
		go p.forward(c)
	}
}

func (p *Proxy) forward(c net.Conn) {
	defer p.drop(c)
	up, err := net.Dial(p.network, p.target)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		up.Close()
		return
	}
	p.conns[up] = true
	p.mu.Unlock()
	defer p.drop(up)
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
}

func (p *Proxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// Cut closes every open connection and the listener: clients see their
// streams end and new connections refused, as when the engine goes away.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// Restore listens again after Cut.
func (p *Proxy) Restore() {
	p.t.Helper()
	if err := p.listen(); err != nil && !errors.Is(err, net.ErrClosed) {
		p.t.Fatalf("proxy restore: %v", err)
	}
}

// Connections returns how many client connections were accepted so far.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}
