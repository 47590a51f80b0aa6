package testenv

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
)

// Swarm subnets are taken from 172.16.0.0/16: private (RFC 1918) and
// outside both Docker's default local pools (172.17–31.0.0/16,
// 192.168.0.0/16), which the nodes' docker_gwbridge draws from, and
// Swarm's default overlay pool (10.0.0.0/8), so no network a node or a
// test creates can shadow the bridge's subnet.
var swarmSubnetBase = net.IPv4(172, 16, 0, 0).To4()

// pickSubnet returns the first 172.16.Y.0/24, Y counting up from seed
// modulo 256, that overlaps no address and no route of the host. The
// caller holds the machine-wide swarm lock until the subnet's bridge has
// its address, so parallel processes see each other's choices.
func pickSubnet(seed int) (*net.IPNet, error) {
	used, err := hostNetworks()
	if err != nil {
		return nil, err
	}
	for i := range 256 {
		ip := make(net.IP, 4)
		copy(ip, swarmSubnetBase)
		ip[2] = byte((seed + i) % 256)
		cand := &net.IPNet{IP: ip, Mask: net.CIDRMask(24, 32)}
		free := true
		for _, u := range used {
			if u.Contains(cand.IP) || cand.Contains(u.IP) {
				free = false
				break
			}
		}
		if free {
			return cand, nil
		}
	}
	return nil, fmt.Errorf("no free /24 in %v/16", swarmSubnetBase)
}

// subnetHost returns the address of host number i in a /24.
func subnetHost(subnet *net.IPNet, i int) string {
	ip := make(net.IP, 4)
	copy(ip, subnet.IP.To4())
	ip[3] = byte(i)
	return ip.String()
}

// hostNetworks returns the IPv4 networks of the host's addresses and
// routes, default routes excepted.
func hostNetworks() ([]*net.IPNet, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var nets []*net.IPNet
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			nets = append(nets, &net.IPNet{IP: n.IP.Mask(n.Mask), Mask: n.Mask})
		}
	}
	routes, err := ipv4Routes()
	if err != nil {
		return nil, err
	}
	return append(nets, routes...), nil
}

// ipv4Routes reads the main routing table from /proc/net/route, whose
// destinations and masks are hex numbers in the host's byte order.
func ipv4Routes() ([]*net.IPNet, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var nets []*net.IPNet
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		dst, err1 := hexIPv4(f[1])
		mask, err2 := hexIPv4(f[7])
		if err1 != nil || err2 != nil || net.IPMask(mask).String() == "00000000" {
			continue
		}
		nets = append(nets, &net.IPNet{IP: dst.Mask(net.IPMask(mask)), Mask: net.IPMask(mask)})
	}
	return nets, sc.Err()
}

// hexIPv4 decodes an address as /proc/net/route prints it.
func hexIPv4(s string) (net.IP, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return nil, fmt.Errorf("bad address %q", s)
	}
	ip := make(net.IP, 4)
	binary.NativeEndian.PutUint32(ip, binary.BigEndian.Uint32(b))
	return ip, nil
}

// netnsNames returns the named network namespaces whose names start with
// prefix.
func netnsNames(prefix string) []string { return dirNames(netnsDir, prefix) }

// linkNames returns the host's network interfaces whose names start with
// prefix.
func linkNames(prefix string) []string { return dirNames("/sys/class/net", prefix) }

// dirNames returns the entries of dir whose names start with prefix (none
// if dir does not exist).
func dirNames(dir, prefix string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names
}
