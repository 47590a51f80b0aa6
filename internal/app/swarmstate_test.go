package app

import (
	"strings"
	"testing"
)

func TestOneShotAllowed(t *testing.T) {
	for _, tc := range []struct {
		holder, host string
		err          string
	}{
		{"c0ffee123/17/ab", "c0ffee123", ""},
		{"c0ffee1234/17/ab", "c0ffee123", "the active certdock is c0ffee1234/17/ab"},
		{"other/1/x", "c0ffee123", "docker exec"},
		{"", "c0ffee123", "no certdock daemon holds"},
	} {
		err := oneShotAllowed(tc.holder, tc.host)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("oneShotAllowed(%q, %q) = %v, want %q", tc.holder, tc.host, err, tc.err)
		}
	}
}
