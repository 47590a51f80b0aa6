// Package prometheus_test checks the alert rules shipped in
// deploy/prometheus with Debian's promtool: they load, and their unit
// tests (alerts_test.yml) pass.
package prometheus_test

import (
	"os/exec"
	"testing"

	"github.com/certdock/certdock/internal/testenv"
)

func TestAlertRules(t *testing.T) {
	promtool := testenv.Promtool(t)
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
