// Package testenv starts real test infrastructure for certdock's end-to-end
// tests: an authoritative bind9 server that accepts TSIG-signed RFC 2136
// updates, and a Pebble ACME server that validates DNS-01 challenges against
// it. It also checks that a Docker daemon and a static busybox are available
// for tests that build throw-away images.
//
// Everything listens on free loopback ports and lives in t.TempDir(), so
// tests can run in parallel, and every process started here is stopped in a
// t.Cleanup, whether the test passes or fails. When a test fails, the tail of
// each server's output is logged.
//
// Missing prerequisites (named, tsig-keygen, pebble, busybox-static, a
// reachable Docker daemon) make the test skip with a message naming what is
// missing and how to install it (scripts/test installs everything). When the
// environment variable CI is "true" a missing prerequisite fails the test
// instead, so CI can never pass by skipping. All helpers here also skip
// under "go test -short".
//
// A typical test:
//
//	func TestIssue(t *testing.T) {
//		bind := testenv.StartBind(t, "example.com")
//		pebble := testenv.StartPebble(t, bind.Addr, nil)
//		for k, v := range bind.Env() {
//			t.Setenv(k, v)
//		}
//		// ... obtain a certificate from pebble.DirectoryURL using
//		// pebble.TLSCAFile to trust it, verify it against pebble.Roots(t).
//	}
//
// StartSwarm builds a real multi-node Docker Swarm on the machine: one
// dockerd per node, each in its own network namespace on a private bridge
// (a free 172.16.Y.0/24), torn down completely in a cleanup, including
// after a failed setup; swarms left by a test process that died without
// its cleanups are removed by the next StartSwarm. It needs root.
//
// This package is for tests only and must never be imported by the binary.
package testenv
