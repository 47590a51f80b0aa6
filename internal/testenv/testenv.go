package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// installHint tells a developer how to get every prerequisite at once.
const installHint = "run scripts/test (it installs the test prerequisites) or see scripts/test for the manual steps"

// inCI reports whether missing prerequisites must fail instead of skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// RequireE2E marks t as an end-to-end test: it skips t under "go test -short".
// The Start* and Require* helpers of this package call it themselves.
func RequireE2E(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test skipped under -short")
	}
}

// unavailable skips t because a prerequisite is missing, or fails it when
// running in CI (CI=true), where every prerequisite must be present.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if inCI() {
		t.Fatalf("%s (CI=true: end-to-end prerequisites are mandatory; %s)", msg, installHint)
	}
	t.Skipf("%s; %s", msg, installHint)
}

// sbinDirs are searched after PATH: on Debian, /usr/sbin (named, tsig-keygen)
// is not in an ordinary user's PATH.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

// findBinary looks name up in PATH and then in the sbin directories.
func findBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range sbinDirs {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or %v", name, sbinDirs)
}

// requireBinary returns the path of name, or skips (fails in CI) naming the
// Debian package that provides it.
func requireBinary(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := findBinary(name)
	if err != nil {
		unavailable(t, "%v (Debian package %s: apt-get install %s)", err, debianPackage, debianPackage)
	}
	return p
}

var (
	portsMu sync.Mutex
	// portsGiven holds every port FreePort has returned in this process, so
	// that two servers started back to back never get the same port even if
	// the kernel hands it out again after it was released.
	portsGiven = map[int]bool{}
)

// FreePort returns a port number that was free on 127.0.0.1 for both TCP and
// UDP a moment ago and has not been returned before in this process. Another
// process may still take it before the caller binds it: callers that start
// servers retry with a new port when the bind fails.
func FreePort(t testing.TB) int {
	t.Helper()
	var lastErr error
	for range 50 {
		port, err := probePort()
		if err != nil {
			lastErr = err
			continue
		}
		portsMu.Lock()
		given := portsGiven[port]
		portsGiven[port] = true
		portsMu.Unlock()
		if !given {
			return port
		}
	}
	t.Fatalf("testenv: no free loopback port found: %v", lastErr)
	return 0
}

// probePort binds TCP on an ephemeral loopback port, then UDP on the same
// port, and releases both.
func probePort() (int, error) {
	tl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer tl.Close()
	port := tl.Addr().(*net.TCPAddr).Port
	ul, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0, err
	}
	ul.Close()
	return port, nil
}
