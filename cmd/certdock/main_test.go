package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInvalidEnvironment(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string // in stderr
	}{
		{
			name: "files mode not octal",
			env:  map[string]string{"CERTS_FILES_MODE": "999x"},
			args: []string{"run", "--once"},
			want: []string{"CERTS_FILES_MODE: ", `"999x"`},
		},
		{
			name: "ACME v1",
			env:  map[string]string{"LETSENCRYPT_ACME_V1": "true"},
			args: []string{"run", "--once"},
			want: []string{"LETSENCRYPT_ACME_V1: ", "ACME v1 was shut down"},
		},
		{
			name: "every problem reported at once",
			env:  map[string]string{"CERTS_FILES_MODE": "999x", "LETSENCRYPT_ACME_V1": "yes", "CERTDOCK_WORKERS": "0"},
			args: []string{"run", "--once"},
			want: []string{"CERTS_FILES_MODE: ", "LETSENCRYPT_ACME_V1: ", "CERTDOCK_WORKERS: "},
		},
		{
			name: "check refuses it too",
			env:  map[string]string{"LETSENCRYPT_ACME_V1": "1"},
			args: []string{"check"},
			want: []string{"LETSENCRYPT_ACME_V1: "},
		},
		{
			name: "renew refuses it too",
			env:  map[string]string{"CERTDOCK_LOG_LEVEL": "loud"},
			args: []string{"renew", "example.com"},
			want: []string{"CERTDOCK_LOG_LEVEL: "},
		},
		{
			name: "unknown DNS provider is a configuration error for run",
			env:  map[string]string{"DNS_PROVIDER": "cloudflar"},
			args: []string{"run", "--once"},
			want: []string{`DNS_PROVIDER: unknown DNS provider "cloudflar"`, "cloudflare"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := cleanEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := runCmd(t, tt.args...)
			if r.code != 2 {
				t.Errorf("exit code %d, want 2", r.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			// Nothing may be written before the configuration is valid.
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Errorf("data directory holds %v (err %v), want nothing", entries, err)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{name: "version", args: []string{"version"}, wantCode: 0, wantStdout: []string{"certdock "}},
		{name: "--version", args: []string{"--version"}, wantCode: 0, wantStdout: []string{"certdock "}},
		{name: "help", args: []string{"help"}, wantCode: 0, wantStdout: []string{"Usage:", "certdock sandbox"}},
		{name: "no command", args: nil, wantCode: 2, wantStderr: []string{"Usage:"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantStderr: []string{`unknown command "frobnicate"`, "Usage:", "certdock run"}},
		{name: "renew without names", args: []string{"renew"}, wantCode: 2, wantStderr: []string{"renew: name at least one certificate"}},
		{name: "renew --force without names", args: []string{"renew", "--force"}, wantCode: 2, wantStderr: []string{"renew: name at least one certificate"}},
		{name: "unknown flag", args: []string{"run", "--twice"}, wantCode: 2, wantStderr: []string{"-twice"}},
		{name: "sandbox unknown flag", args: []string{"sandbox", "--forever"}, wantCode: 2, wantStderr: []string{"-forever"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := cleanEnv(t)
			r := runCmd(t, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit code %d, want %d", r.code, tt.wantCode)
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q", w)
				}
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "domains.conf")); err == nil {
				t.Error("a usage error wrote domains.conf")
			}
		})
	}
}

func TestVersion(t *testing.T) {
	cleanEnv(t)
	r := runCmd(t, "version")
	v, ok := strings.CutPrefix(r.stdout, "certdock ")
	if r.code != 0 || !ok || strings.TrimSpace(v) == "" || !strings.HasSuffix(v, "\n") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("version: exit %d, stdout %q; want 0 and one line \"certdock VERSION\"", r.code, r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("version wrote to stderr: %q", r.stderr)
	}

	old := version
	t.Cleanup(func() { version = old })
	version = "v9.8.7-test"
	if r := runCmd(t, "version"); r.stdout != "certdock v9.8.7-test\n" {
		t.Errorf("with version set at build time: stdout %q", r.stdout)
	}
}
