package issuer

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestHintBlamesTheRightSide(t *testing.T) {
	refused := &net.OpError{Op: "read", Net: "udp", Err: os.NewSyscallError("read", syscall.ECONNREFUSED)}
	i := &Issuer{cfg: Config{ProviderName: "rfc2136"}}
	tests := []struct {
		name      string
		err       error
		want      string // must appear
		mustNotBe string // must not appear
	}{
		{
			name:      "DNS server down while presenting",
			err:       fmt.Errorf("dns01: error presenting token (a.example.com): dnsupdate: failed to insert: DNS update failed: %w", refused),
			want:      "DNSUPDATE_* variables",
			mustNotBe: "ACME_DIRECTORY_URL",
		},
		{
			name:      "resolver down during the propagation check",
			err:       fmt.Errorf("dns01: time limit exceeded: last error: %w", refused),
			mustNotBe: "ACME_DIRECTORY_URL",
		},
		{
			name:      "CA refuses connections",
			err:       fmt.Errorf(`get directory at 'https://127.0.0.1:1/dir': %w`, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}),
			want:      "the CA is unreachable: check ACME_DIRECTORY_URL",
			mustNotBe: "DNSUPDATE_",
		},
		{
			name: "other errors pass unchanged",
			err:  errors.New("acme: error: 500 :: POST :: https://ca/order-plz"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := i.hint(tt.err)
			if !errors.Is(got, tt.err) {
				t.Errorf("hint(%v) lost the cause: %v", tt.err, got)
			}
			msg := got.Error()
			if tt.want != "" && !strings.Contains(msg, tt.want) {
				t.Errorf("hint = %q, want it to contain %q", msg, tt.want)
			}
			if tt.mustNotBe != "" && strings.Contains(msg, tt.mustNotBe) {
				t.Errorf("hint = %q, must not mention %q", msg, tt.mustNotBe)
			}
			if tt.want == "" && msg != tt.err.Error() {
				t.Errorf("hint = %q, want the error unchanged", msg)
			}
		})
	}
}
