package config

import (
	"strings"
	"testing"
)

func TestStateMode(t *testing.T) {
	for _, tc := range []struct {
		v, cluster, key string
		mode            string
		warn            bool
		err             string
	}{
		{"", ClusterNone, "", StateLocal, false, ""},
		{"", ClusterSwarm, "/run/secrets/k", StateSwarm, false, ""},
		{"", ClusterSwarm, "", StateLocal, true, ""},
		{"local", ClusterSwarm, "/run/secrets/k", StateLocal, false, ""},
		{"swarm", ClusterSwarm, "", "", false, "CERTDOCK_STATE_KEY_FILE"},
		{"swarm", ClusterNone, "/k", "", false, "DOCKER_CLUSTER_PROVIDER=swarm"},
		{"raft", ClusterSwarm, "/k", "", false, "use swarm or local"},
	} {
		mode, warn, err := stateMode(tc.v, tc.cluster, tc.key)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("stateMode(%q, %q, %q): %v, want an error naming %s", tc.v, tc.cluster, tc.key, err, tc.err)
			}
			continue
		}
		if err != nil || mode != tc.mode || warn != tc.warn {
			t.Errorf("stateMode(%q, %q, %q) = %s, %v, %v; want %s, %v", tc.v, tc.cluster, tc.key, mode, warn, err, tc.mode, tc.warn)
		}
	}
	// Through FromEnv: the error names CERTDOCK_STATE.
	_, err := FromEnv(func(k string) string {
		return map[string]string{"CERTDOCK_STATE": "swarm", "DOCKER_CLUSTER_PROVIDER": "swarm"}[k]
	})
	if err == nil || !strings.Contains(err.Error(), "CERTDOCK_STATE") {
		t.Fatalf("FromEnv: %v", err)
	}
}
