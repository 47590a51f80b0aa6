package config

import (
	"fmt"
	"net"
	"strconv"
)

// parseListen validates CERTDOCK_LISTEN: "host:port" or ":port"; empty
// means no HTTP endpoint.
func parseListen(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", fmt.Errorf("%q: want host:port or :port (e.g. :9090)", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q: port must be a number from 1 to 65535", v)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		if err := checkResolverHost(host); err != nil {
			return "", fmt.Errorf("%q: %v", v, err)
		}
	}
	return v, nil
}
