package testenv_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
)

// TestRelayTCPAndUDP: one relay port carries TCP streams and UDP
// datagrams to the same target port, replies included, for several
// clients at once, and Close leaves nothing listening.
func TestRelayTCPAndUDP(t *testing.T) {
	// An echo server on one loopback port, TCP and UDP, answering in
	// upper case so a reply cannot be the request itself.
	tl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	port := tl.Addr().(*net.TCPAddr).Port
	ul, err := net.ListenPacket("udp4", tl.Addr().String())
	if err != nil {
		t.Skipf("port %d not free for UDP too: %v", port, err)
	}
	defer ul.Close()
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				c.Write([]byte(strings.ToUpper(line)))
			}()
		}
	}()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := ul.ReadFrom(buf)
			if err != nil {
				return
			}
			ul.WriteTo([]byte(strings.ToUpper(string(buf[:n]))), from)
		}
	}()

	r := testenv.StartRelay(t, "127.0.0.1", tl.Addr().String())
	if r.Addr == tl.Addr().String() {
		t.Fatalf("relay listens on its target's address %s", r.Addr)
	}

	c, err := net.DialTimeout("tcp", r.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("over tcp\n"))
	got, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || got != "OVER TCP\n" {
		t.Fatalf("TCP through the relay: %q, %v", got, err)
	}

	for _, msg := range []string{"first client", "second client"} {
		u, err := net.Dial("udp", r.Addr)
		if err != nil {
			t.Fatal(err)
		}
		u.SetDeadline(time.Now().Add(5 * time.Second))
		for i := range 2 {
			u.Write([]byte(msg))
			buf := make([]byte, 100)
			n, err := u.Read(buf)
			if err != nil || string(buf[:n]) != strings.ToUpper(msg) {
				t.Fatalf("UDP datagram %d of %q through the relay: %q, %v", i, msg, buf[:n], err)
			}
		}
		u.Close()
	}

	r.Close()
	if c, err := net.DialTimeout("tcp", r.Addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the relay still accepts connections after Close")
	}
}
