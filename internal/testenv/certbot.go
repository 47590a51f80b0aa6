package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// certbotTimeout bounds one certbot run.
const certbotTimeout = 3 * time.Minute

// RunCertbot obtains a certificate for domains (the first names the
// lineage) with Debian's certbot and its dns-rfc2136 plugin, from p through
// b, into configDir (certbot's /etc/letsencrypt), with an ECDSA P-256 key
// (certdock's default key type). It skips the test (fails it under CI=true)
// when certbot or the plugin is missing, and fails it, with certbot's output
// and the tail of its log, when certbot fails.
func RunCertbot(t testing.TB, p *Pebble, b *Bind, configDir string, domains ...string) {
	t.Helper()
	RunCertbotArgs(t, p, b, configDir, nil, domains...)
}

// RunCertbotArgs is RunCertbot with extra arguments for certbot certonly,
// e.g. "--force-renewal".
func RunCertbotArgs(t testing.TB, p *Pebble, b *Bind, configDir string, extra []string, domains ...string) {
	t.Helper()
	certbot := RequireCertbot(t)
	if len(domains) == 0 {
		t.Fatal("testenv: RunCertbot needs at least one domain")
	}
	tmp := t.TempDir()
	host, port, err := net.SplitHostPort(b.Addr)
	if err != nil {
		t.Fatalf("testenv: bind address %q: %v", b.Addr, err)
	}
	ini := filepath.Join(tmp, "rfc2136.ini")
	creds := fmt.Sprintf("dns_rfc2136_server = %s\ndns_rfc2136_port = %s\ndns_rfc2136_name = %s\ndns_rfc2136_secret = %s\ndns_rfc2136_algorithm = HMAC-SHA256\n",
		host, port, strings.TrimSuffix(b.KeyName, "."), b.KeySecret)
	if err := os.WriteFile(ini, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	workDir, logsDir := filepath.Join(tmp, "work"), filepath.Join(tmp, "logs")
	args := []string{"certonly", "--non-interactive", "--agree-tos", "--register-unsafely-without-email",
		"--server", p.DirectoryURL,
		"--authenticator", "dns-rfc2136",
		"--dns-rfc2136-credentials", ini,
		"--dns-rfc2136-propagation-seconds", "1",
		"--config-dir", configDir, "--work-dir", workDir, "--logs-dir", logsDir,
		"--key-type", "ecdsa",
	}
	args = append(args, extra...)
	for _, d := range domains {
		args = append(args, "-d", d)
	}
	out, err := runCertbot(t, p, certbot, args...)
	if err != nil {
		logTail := ""
		if data, rerr := os.ReadFile(filepath.Join(logsDir, "letsencrypt.log")); rerr == nil {
			lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
			logTail = strings.Join(lines[max(0, len(lines)-60):], "\n")
		}
		t.Fatalf("testenv: certbot %s: %v\noutput:\n%s\nletsencrypt.log (tail):\n%s", strings.Join(args, " "), err, out, logTail)
	}
}

// Certbot runs certbot with args (e.g. "certificates", "--config-dir", dir)
// trusting p's TLS certificate, and returns its combined output and error.
// It skips (fails under CI=true) when certbot is missing.
func Certbot(t testing.TB, p *Pebble, args ...string) (string, error) {
	t.Helper()
	return runCertbot(t, p, RequireCertbot(t), args...)
}

func runCertbot(t testing.TB, p *Pebble, certbot string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), certbotTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, certbot, args...)
	cmd.Env = append(os.Environ(), "REQUESTS_CA_BUNDLE="+p.TLSCAFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// RequireCertbot returns the path of certbot, skipping the test (failing it
// under CI=true) when certbot or its dns-rfc2136 plugin is missing.
func RequireCertbot(t testing.TB) string {
	t.Helper()
	RequireE2E(t)
	certbot := requireBinary(t, "certbot", "certbot")
	// The plugin is the module certbot_dns_rfc2136 of the python certbot
	// runs on (Debian's: /usr/bin/python3, which may not be the first
	// python3 in PATH).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	python := certbotPython(certbot)
	if out, err := exec.CommandContext(ctx, python[0], append(python[1:], "-c", "import certbot_dns_rfc2136")...).CombinedOutput(); err != nil {
		unavailable(t, "certbot's dns-rfc2136 plugin is missing: %v %s (Debian package python3-certbot-dns-rfc2136)", err, strings.TrimSpace(string(out)))
	}
	return certbot
}

// certbotPython returns the interpreter command line of the certbot script
// (its #! line), or python3 when it has none.
func certbotPython(certbot string) []string {
	data, err := os.ReadFile(certbot)
	if err != nil || !bytes.HasPrefix(data, []byte("#!")) {
		return []string{"python3"}
	}
	line, _, _ := bytes.Cut(data[2:], []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) == 0 {
		return []string{"python3"}
	}
	return fields
}
