// Package deploy_test builds the repository's Dockerfile on the real
// engine and deploys stack.yml (docker stack deploy on a single-node
// Swarm) and compose.yml (docker compose up), with certdock in its
// container issuing from Pebble and bind9 on the host and acting on the
// labelled example service.
package deploy_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/testenv"
)

// maxImageSize is issue 5's target for the image with every provider.
const maxImageSize = 100 << 20

// webName is the certificate the example service asks for in both files.
const webName = "web.example.com"

func TestImageAndDeployments(t *testing.T) {
	testenv.RequireDocker(t)
	bind := testenv.StartBind(t, "example.com")
	pebble := testenv.StartPebble(t, bind.Addr, nil)
	ref := testenv.BuildCertdockImage(t, "..")
	busybox := testenv.BusyboxImage(t)
	h := &harness{bind: bind, pebble: pebble, image: ref, busybox: busybox}

	t.Run("image", func(t *testing.T) { h.checkImage(t) })
	t.Run("compose", func(t *testing.T) { h.compose(t) })
	t.Run("stack", func(t *testing.T) { h.stack(t) })
}

type harness struct {
	bind           *testenv.Bind
	pebble         *testenv.Pebble
	image, busybox string
}

// docker runs the docker CLI and returns its trimmed stdout, failing t
// with the output on error.
func docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := dockerErr(args...)
	if err != nil {
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func dockerErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%v: %s%s", err, stdout.String(), stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

func (h *harness) checkImage(t *testing.T) {
	var info struct {
		Size   int64
		Config struct {
			Healthcheck struct{ Test []string }
			Volumes     map[string]struct{}
			Entrypoint  []string
			Env         []string
		}
	}
	if err := json.Unmarshal([]byte(docker(t, "image", "inspect", "--format", "{{json .}}", h.image)), &info); err != nil {
		t.Fatal(err)
	}
	t.Logf("image size: %.1f MB", float64(info.Size)/(1<<20))
	if info.Size > maxImageSize {
		t.Errorf("image is %d bytes, target ≤ %d", info.Size, maxImageSize)
	}
	if got := strings.Join(info.Config.Healthcheck.Test, " "); got != "CMD /certdock health" {
		t.Errorf("HEALTHCHECK %q, want the binary itself (CMD /certdock health)", got)
	}
	if _, ok := info.Config.Volumes["/etc/letsencrypt"]; !ok {
		t.Errorf("volumes %v, want /etc/letsencrypt", info.Config.Volumes)
	}
	if out := docker(t, "run", "--rm", "--label", "certdock-test=1", h.image, "version"); out != "certdock test" {
		t.Errorf("version in the image: %q", out)
	}
	// CA bundle, a shell for DEPLOY_HOOK, and zones with TZ (the binary
	// embeds Go's tzdata: the image has no /usr/share/zoneinfo).
	out := docker(t, "run", "--rm", "--label", "certdock-test=1", "--entrypoint", "/bin/sh", h.image,
		"-c", "test -s /etc/ssl/certs/ca-certificates.crt && echo ca-ok")
	if out != "ca-ok" {
		t.Errorf("CA bundle check printed %q", out)
	}
	// check exits 1 here (no domains.conf, no credentials): only its
	// settings matter.
	out, err := dockerErr("run", "--rm", "--label", "certdock-test=1",
		"-e", "TZ=Asia/Tokyo", "-e", "CRON_TIME_STRING=0 9 * * *", "-e", "DNS_PROVIDER=rfc2136",
		"-e", "DNSUPDATE_NAMESERVER=127.0.0.1:53", h.image, "check")
	if err != nil {
		out = err.Error()
	}
	if !strings.Contains(out, "Asia/Tokyo") || strings.Contains(out, "TZ:") {
		t.Errorf("check with TZ=Asia/Tokyo does not show the zone:\n%s", out)
	}
}

// containerEnv is what certdock needs, in its container on the host
// network, to use the test's Pebble and bind9; the TSIG secret is left to
// the caller (a file or a variable).
func (h *harness) containerEnv(listen int) map[string]string {
	env := map[string]string{
		"ACME_DIRECTORY_URL":       h.pebble.DirectoryURL,
		"ACME_CA_CERTIFICATES":     "/pebble-ca.pem",
		"DNS_PROVIDER":             "rfc2136",
		"DNS_RESOLVERS":            h.bind.Addr,
		"CERTDOCK_LISTEN":          "127.0.0.1:" + strconv.Itoa(listen),
		"CERTDOCK_LOG_LEVEL":       "debug",
		"CERTDOCK_LABEL_PREFIX":    labelPrefix,
		"DNSUPDATE_NAMESERVER":     h.bind.Addr,
		"DNSUPDATE_TSIG_KEY":       h.bind.KeyName,
		"DNSUPDATE_TSIG_ALGORITHM": h.bind.KeyAlgorithm,
		"DNSUPDATE_ZONES":          strings.Join(h.bind.Zones, ","),
	}
	return env
}

// yamlMap renders env as an indented YAML mapping with quoted values.
func yamlMap(indent string, env map[string]string) string {
	var b strings.Builder
	for k, v := range env {
		fmt.Fprintf(&b, "%s%s: %q\n", indent, k, v)
	}
	return b.String()
}

// labelPrefix replaces "certdock" as the label prefix in the deployed
// files and in CERTDOCK_LABEL_PREFIX: the engine is shared with the other
// test packages, whose daemons act on "certdock.*" labels, and the
// certdock deployed here must neither act on their containers nor be
// acted on by them.
var labelPrefix = fmt.Sprintf("cdtest%d", time.Now().UnixNano()%1e6)

// copyFile copies the repository file name into dir, with labelPrefix for
// the "certdock." label prefix.
func copyFile(t *testing.T, name, dir string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("certdock.domains")) {
		t.Fatalf("%s has no certdock.domains label", name)
	}
	data = bytes.ReplaceAll(data, []byte("certdock."), []byte(labelPrefix+"."))
	dst := filepath.Join(dir, filepath.Base(name))
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// eventually polls cond until it is true or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// verifyChain checks that fullchain (PEM) is a certificate for name
// issued by Pebble.
func (h *harness) verifyChain(t *testing.T, fullchain, name string) {
	t.Helper()
	var certs []*x509.Certificate
	rest := []byte(fullchain)
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	if len(certs) < 2 {
		t.Fatalf("fullchain has %d certificates", len(certs))
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{DNSName: name, Roots: h.pebble.Roots(t), Intermediates: inter}); err != nil {
		t.Fatalf("certificate for %s does not verify against Pebble's root: %v", name, err)
	}
}

// containerLogs returns the logs of a container, for failure reports.
func containerLogs(id string) string {
	out, _ := exec.Command("docker", "logs", "--tail", "80", id).CombinedOutput()
	return string(out)
}

// healthStatus is a container's health ("starting", "healthy", ...).
func healthStatus(id string) string {
	out, _ := dockerErr("inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", id)
	return out
}
