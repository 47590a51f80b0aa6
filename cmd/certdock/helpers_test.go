package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// configVars are the variables config.FromEnv reads. cleanEnv blanks them
// (an empty value means "unset" to FromEnv) so a developer's or CI's
// environment cannot change what a test sees.
var configVars = []string{
	"LETSENCRYPT_USER_MAIL", "LETSENCRYPT_STAGING", "LETSENCRYPT_ACME_V1",
	"ACME_DIRECTORY_URL", "ACME_CA_CERTIFICATES", "LEGO_CA_CERTIFICATES",
	"DNS_PROVIDER", "LEXICON_PROVIDER", "ACME_KEY_TYPE", "ACME_PROFILE",
	"CERTDOCK_DIR", "DNS_RESOLVERS", "LEXICON_SLEEP_TIME",
	"CERTDOCK_LOG_LEVEL", "CERTDOCK_LOG_FORMAT", "CERTS_DIRS_MODE",
	"CERTS_FILES_MODE", "CERTDOCK_WORKERS", "CERTDOCK_CHECK_INTERVAL",
	"ACME_EAB_KID", "ACME_EAB_HMAC", "CERTDOCK_LABEL_PREFIX",
	"CERTDOCK_ALLOWED_DOMAINS", "DOCKER_CLUSTER_PROVIDER",
}

// cleanEnv blanks every certdock variable (configVars and any other
// CERTDOCK_*) and every variable whose name starts with one of prefixes
// (FromEnv and lego both read empty as unset), then points CERTDOCK_DIR
// at a new temporary directory, which it returns. cmdSandbox sets
// CERTDOCK_DIR itself when it is empty, so a test must never leave it so.
func cleanEnv(t *testing.T, prefixes ...string) string {
	t.Helper()
	for _, v := range configVars {
		t.Setenv(v, "")
	}
	prefixes = append(slices.Clip(prefixes), "CERTDOCK_")
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				t.Setenv(k, "")
			}
		}
	}
	dir := t.TempDir()
	t.Setenv("CERTDOCK_DIR", dir)
	return dir
}

// result is what one run call produced.
type result struct {
	code           int
	stdout, stderr string
}

// all is stdout and stderr together, for assertions that do not care
// which stream a message went to.
func (r result) all() string { return r.stdout + r.stderr }

// runCmd calls run as main would and logs the output when the test fails.
func runCmd(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("certdock %s: exit %d\n--- stdout:\n%s\n--- stderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	})
	return r
}

// writeDomains writes dir/domains.conf and returns its path.
func writeDomains(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "domains.conf")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
