package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/certdock/certdock/labels"
)

// Docker settings and their defaults.
const (
	DefaultLabelPrefix = "certdock"
	ClusterNone        = "none"
	ClusterSwarm       = "swarm"
)

func parseLabelPrefix(v string) (string, error) {
	if v == "" {
		return DefaultLabelPrefix, nil
	}
	if strings.HasPrefix(v, ".") || strings.HasSuffix(v, ".") {
		return "", fmt.Errorf("%q must not start or end with a dot", v)
	}
	for _, c := range []byte(v) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", fmt.Errorf("%q: use lower-case letters, digits, '.', '-' and '_'", v)
		}
	}
	return v, nil
}

func parseAllowed(v string) (*labels.Allowlist, error) {
	if v == "" {
		return nil, nil
	}
	return labels.ParseAllowlist(v)
}

func parseCluster(v string) (string, error) {
	switch strings.ToLower(v) {
	case "", ClusterNone:
		return ClusterNone, nil
	case ClusterSwarm:
		return ClusterSwarm, nil
	case "kubernetes", "k8s":
		return "", errors.New("kubernetes is not supported: use none or swarm")
	}
	return "", fmt.Errorf("%q: use none or swarm", v)
}
