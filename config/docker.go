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

// Where certdock's state lives (CERTDOCK_STATE).
const (
	// StateLocal: CERTDOCK_DIR only, on the node certdock runs on.
	StateLocal = "local"
	// StateSwarm: the swarm's own store (configs, the private material
	// sealed with CERTDOCK_STATE_KEY_FILE), CERTDOCK_DIR a copy of it,
	// and one active certdock (a lease).
	StateSwarm = "swarm"
)

// stateMode decides where state lives from CERTDOCK_STATE, the cluster
// provider and whether CERTDOCK_STATE_KEY_FILE is set. Unset, it is the
// swarm when DOCKER_CLUSTER_PROVIDER=swarm and a key file is set, and
// local otherwise; warn is then set when swarm mode is possible but the
// key is missing (certdock runs local and says so loudly). Explicit swarm
// without a key file, or without DOCKER_CLUSTER_PROVIDER=swarm, is an
// error naming the variable to set.
func stateMode(v, cluster, keyFile string) (mode string, warn bool, err error) {
	switch strings.ToLower(v) {
	case "":
		if cluster != ClusterSwarm {
			return StateLocal, false, nil
		}
		if keyFile == "" {
			return StateLocal, true, nil
		}
		return StateSwarm, false, nil
	case StateLocal:
		return StateLocal, false, nil
	case StateSwarm:
		if cluster != ClusterSwarm {
			return "", false, errors.New("swarm needs DOCKER_CLUSTER_PROVIDER=swarm (and certdock connected to a manager)")
		}
		if keyFile == "" {
			return "", false, errors.New("swarm needs CERTDOCK_STATE_KEY_FILE: the key that encrypts private keys in the swarm (openssl rand -base64 32 | docker secret create certdock_state_key -, mounted in certdock's service)")
		}
		return StateSwarm, false, nil
	}
	return "", false, fmt.Errorf("%q: use swarm or local", v)
}
