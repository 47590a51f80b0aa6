package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// PebbleModule is the module Pebble's binary and test certificates come from.
	PebbleModule = "github.com/letsencrypt/pebble/v2"
	// PebbleVersion is the Pebble version scripts/test installs.
	PebbleVersion = "v2.10.1"

	// DefaultProfile is the profile every Pebble started here offers:
	// 90-day certificates.
	DefaultProfile = "default"
	// ShortLivedProfile is the profile added by PebbleOptions.ShortLived:
	// certificates valid for ShortLivedValidity, for renewal tests.
	ShortLivedProfile = "shortlived"
	// ShortLivedValidity is the validity of ShortLivedProfile certificates.
	ShortLivedValidity = 5 * time.Minute

	defaultValidity      = 90 * 24 * time.Hour
	pebbleStartAttempts  = 5
	pebbleStartTimeout   = 30 * time.Second
	pebbleRequestTimeout = 30 * time.Second
)

// Pebble is a running Pebble ACME server (a test CA) on loopback ports.
type Pebble struct {
	// DirectoryURL is the ACME directory, "https://127.0.0.1:PORT/dir".
	DirectoryURL string
	// MgmtURL is the management interface, "https://127.0.0.1:MGMTPORT"
	// (/roots/0, /intermediates/0, /cert-status-by-serial/…).
	MgmtURL string
	// TLSCAFile is a PEM file (pebble.minica.pem from the Pebble module's
	// test/certs) that verifies the TLS certificate of both listeners; give
	// it to ACME clients as their trusted CA (ACME_CA_CERTIFICATES,
	// LEGO_CA_CERTIFICATES). It is not the CA that signs issued
	// certificates: see Roots.
	TLSCAFile string

	client *http.Client
}

// PebbleProfile is one certificate profile offered by Pebble.
type PebbleProfile struct {
	// Description is shown in the directory's meta.profiles.
	Description string
	// Validity is the certificate lifetime, rounded up to whole seconds;
	// zero means Pebble's default of 90 days.
	Validity time.Duration
}

// PebbleOptions adjusts StartPebble. The zero value (or nil) gives one
// profile, "default", with 90-day certificates.
//
// Beware: when Pebble offers more than one profile, it picks one AT RANDOM
// for every order that names none. Tests that add profiles (ShortLived,
// Profiles) must name a profile in every order, or their certificates'
// lifetimes will vary from run to run.
type PebbleOptions struct {
	// ShortLived adds ShortLivedProfile ("shortlived", 5-minute
	// certificates) for renewal tests.
	ShortLived bool
	// Profiles adds profiles, or replaces the default ones of the same name.
	Profiles map[string]PebbleProfile
	// EABKeys, when not empty, makes Pebble require External Account
	// Binding with these key IDs and their base64url-encoded HMAC keys.
	EABKeys map[string]string
	// Env holds extra environment variables for the pebble process, applied
	// after (so overriding) PEBBLE_VA_NOSLEEP=1, PEBBLE_AUTHZREUSE=0 and
	// PEBBLE_WFE_NONCEREJECT=0; e.g. PEBBLE_CHAIN_LENGTH or
	// PEBBLE_VA_ALWAYS_VALID.
	Env map[string]string
}

// pebbleConfig mirrors the JSON configuration Pebble v2.10.1 reads (the
// config struct in cmd/pebble/main.go; field names are matched
// case-insensitively, written here as Pebble's own example spells them).
type pebbleConfig struct {
	Pebble struct {
		ListenAddress                  string                         `json:"listenAddress"`
		ManagementListenAddress        string                         `json:"managementListenAddress"`
		HTTPPort                       int                            `json:"httpPort"`
		TLSPort                        int                            `json:"tlsPort"`
		Certificate                    string                         `json:"certificate"`
		PrivateKey                     string                         `json:"privateKey"`
		ExternalAccountBindingRequired bool                           `json:"externalAccountBindingRequired"`
		ExternalAccountMACKeys         map[string]string              `json:"externalAccountMACKeys,omitempty"`
		KeyAlgorithm                   string                         `json:"keyAlgorithm"`
		Profiles                       map[string]pebbleProfileConfig `json:"profiles"`
	} `json:"pebble"`
}

type pebbleProfileConfig struct {
	Description    string `json:"description"`
	ValidityPeriod uint64 `json:"validityPeriod"` // seconds
}

// StartPebble starts Pebble with its DNS-01 (and other) validations sent to
// the DNS server at dnsAddr ("127.0.0.1:PORT", e.g. Bind.Addr; Pebble queries
// it over TCP; "" means the system resolver), and waits until the directory
// and the management interface answer. It skips t (fails it under CI=true)
// if the pebble binary or the Pebble module's test certificates cannot be
// found, and under -short. The server is stopped when t's cleanups run.
//
// Pebble runs with PEBBLE_VA_NOSLEEP=1 (no random validation delay),
// PEBBLE_AUTHZREUSE=0 (every order validates) and PEBBLE_WFE_NONCEREJECT=0
// (no random badNonce errors), plus opts.Env. Its CA keys are ECDSA. Every
// start creates a new root: fetch it with Roots or RootPEM.
func StartPebble(t testing.TB, dnsAddr string, opts *PebbleOptions) *Pebble {
	t.Helper()
	RequireE2E(t)
	if opts == nil {
		opts = &PebbleOptions{}
	}
	bin, err := findPebble()
	if err != nil {
		unavailable(t, "%v (install: go install %s/cmd/pebble@%s)", err, PebbleModule, PebbleVersion)
	}
	modDir, err := pebbleModuleDir()
	if err != nil {
		unavailable(t, "Pebble's test certificates not found: %v", err)
	}
	certs := filepath.Join(modDir, "test", "certs")

	profiles := map[string]PebbleProfile{
		DefaultProfile: {Description: "90-day certificates (testenv default)", Validity: defaultValidity},
	}
	if opts.ShortLived {
		profiles[ShortLivedProfile] = PebbleProfile{
			Description: "5-minute certificates for renewal tests (testenv)",
			Validity:    ShortLivedValidity,
		}
	}
	for name, p := range opts.Profiles {
		if name == "" || p.Validity < 0 {
			t.Fatalf("testenv: StartPebble: invalid profile %q: %+v", name, p)
		}
		profiles[name] = p
	}

	var cfg pebbleConfig
	cfg.Pebble.Certificate = filepath.Join(certs, "localhost", "cert.pem")
	cfg.Pebble.PrivateKey = filepath.Join(certs, "localhost", "key.pem")
	cfg.Pebble.KeyAlgorithm = "ecdsa"
	cfg.Pebble.Profiles = map[string]pebbleProfileConfig{}
	for name, p := range profiles {
		secs := uint64((p.Validity + time.Second - 1) / time.Second)
		cfg.Pebble.Profiles[name] = pebbleProfileConfig{Description: p.Description, ValidityPeriod: secs}
	}
	if len(opts.EABKeys) > 0 {
		cfg.Pebble.ExternalAccountBindingRequired = true
		cfg.Pebble.ExternalAccountMACKeys = opts.EABKeys
	}

	pb := &Pebble{TLSCAFile: filepath.Join(certs, "pebble.minica.pem")}
	caPEM, err := os.ReadFile(pb.TLSCAFile)
	if err != nil {
		unavailable(t, "Pebble's TLS CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("testenv: %s holds no PEM certificate", pb.TLSCAFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	pb.client = &http.Client{Transport: tr, Timeout: pebbleRequestTimeout}
	t.Cleanup(tr.CloseIdleConnections)

	env := append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_AUTHZREUSE=0", "PEBBLE_WFE_NONCEREJECT=0")
	for k, v := range opts.Env {
		env = append(env, k+"="+v)
	}
	confPath := filepath.Join(t.TempDir(), "pebble-config.json")
	args := []string{bin, "-config", confPath}
	if dnsAddr != "" {
		args = append(args, "-dnsserver", dnsAddr)
	}

	for attempt := 1; ; attempt++ {
		port, mgmtPort := FreePort(t), FreePort(t)
		cfg.Pebble.ListenAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		cfg.Pebble.ManagementListenAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(mgmtPort))
		// Only HTTP-01 and TLS-ALPN-01 validations would connect to these;
		// free ports make such a validation fail fast instead of reaching
		// some unrelated service.
		cfg.Pebble.HTTPPort, cfg.Pebble.TLSPort = FreePort(t), FreePort(t)
		data, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		writeFile(t, confPath, string(data))
		pb.DirectoryURL = "https://" + cfg.Pebble.ListenAddress + "/dir"
		pb.MgmtURL = "https://" + cfg.Pebble.ManagementListenAddress

		p, err := startProcess(t, "pebble", env, args...)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		err = pb.waitReady(p)
		if err == nil {
			return pb
		}
		p.stop(t)
		p.silence()
		if addrInUse(p.out.String()) && attempt < pebbleStartAttempts {
			t.Logf("testenv: pebble could not bind its ports (attempt %d), retrying on others", attempt)
			continue
		}
		t.Fatalf("testenv: pebble did not become ready at %s: %v\npebble output:\n%s", pb.DirectoryURL, err, p.out.tail(tailLines))
		return nil
	}
}

// waitReady polls the directory and the root certificate until both answer,
// or pebble exits, or pebbleStartTimeout passes.
func (pb *Pebble) waitReady(p *process) error {
	deadline := time.Now().Add(pebbleStartTimeout)
	for {
		if done, err := p.exited(); done {
			return fmt.Errorf("pebble exited: %v", err)
		}
		_, err := pb.get(pb.DirectoryURL, time.Second)
		if err == nil {
			_, err = pb.get(pb.MgmtURL+"/roots/0", time.Second)
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not answering after %v: %w", pebbleStartTimeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// get fetches url and returns the body of a 200 answer.
func (pb *Pebble) get(url string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := pb.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// HTTPClient returns an HTTP client that trusts TLSCAFile, for talking to
// the directory and the management interface.
func (pb *Pebble) HTTPClient() *http.Client { return pb.client }

// RootPEM returns the PEM of the root certificate that (through an
// intermediate Pebble serves in each chain) signs the certificates this
// Pebble issues. Every Pebble start makes a new one.
func (pb *Pebble) RootPEM(t testing.TB) []byte {
	t.Helper()
	body, err := pb.get(pb.MgmtURL+"/roots/0", pebbleRequestTimeout)
	if err != nil {
		t.Fatalf("testenv: fetching Pebble's root: %v", err)
	}
	rest := body
	n := 0
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			t.Fatalf("testenv: Pebble's root does not parse: %v", err)
		}
		n++
	}
	if n == 0 || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("testenv: Pebble's /roots/0 is not a PEM certificate: %q", body)
	}
	return body
}

// Roots returns a pool holding only Pebble's current root, to verify issued
// certificates (pass the chain's intermediates in x509.VerifyOptions).
func (pb *Pebble) Roots(t testing.TB) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pb.RootPEM(t)) {
		t.Fatalf("testenv: Pebble's root could not be added to a pool")
	}
	return pool
}

// findPebble looks for the pebble binary in PATH, then in $(go env GOBIN)
// and $(go env GOPATH)/bin, where go install puts it.
func findPebble() (string, error) {
	if p, err := exec.LookPath("pebble"); err == nil {
		return p, nil
	}
	var dirs []string
	if gobin := goEnv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	for _, gp := range filepath.SplitList(goEnv("GOPATH")) {
		if gp != "" {
			dirs = append(dirs, filepath.Join(gp, "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "pebble")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("pebble not found in PATH or %v", dirs)
}

// goEnv returns one `go env` value, or "" if go cannot be run.
func goEnv(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// pebbleModuleDir finds the Pebble module's directory in the module cache:
// first the version this module requires (go list -m), else PebbleVersion,
// downloaded if needed (outside this module, so go.sum is left alone).
var pebbleModuleDir = sync.OnceValues(func() (string, error) {
	type modInfo struct {
		Dir   string
		Error any
	}
	run := func(dir string, args ...string) (modInfo, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var mi modInfo
		if err != nil {
			return mi, fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		if err := json.Unmarshal(out, &mi); err != nil {
			return mi, fmt.Errorf("go %s: %v", strings.Join(args, " "), err)
		}
		return mi, nil
	}
	var errs []error
	if mi, err := run("", "list", "-m", "-json", PebbleModule); err != nil {
		errs = append(errs, err)
	} else if mi.Dir != "" {
		return mi.Dir, nil
	}
	mi, err := run(os.TempDir(), "mod", "download", "-json", PebbleModule+"@"+PebbleVersion)
	if err != nil {
		errs = append(errs, err)
	} else if mi.Dir != "" {
		return mi.Dir, nil
	} else {
		errs = append(errs, fmt.Errorf("go mod download %s@%s: no directory (%v)", PebbleModule, PebbleVersion, mi.Error))
	}
	return "", errors.Join(errs...)
})
