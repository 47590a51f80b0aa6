package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/certdock/certdock/config"
)

// The configuration tag changes with a provider variable or the content
// of a *_FILE secret (a configuration error is then retried at once), and
// not with a shell session's variables.
func TestConfigTag(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secret, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLOUDFLARE_DNS_API_TOKEN_FILE", secret)
	t.Setenv("TERM", "xterm")
	cfg := &config.Config{Provider: "cloudflare"}
	base := configTag(cfg)
	if configTag(cfg) != base {
		t.Fatal("the tag is not stable")
	}
	t.Setenv("TERM", "vt100")
	if configTag(cfg) != base {
		t.Error("a session variable changed the tag")
	}
	if err := os.WriteFile(secret, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	changed := configTag(cfg)
	if changed == base {
		t.Error("a replaced secret file did not change the tag")
	}
	t.Setenv("CLOUDFLARE_ZONE_API_TOKEN", "x")
	if configTag(cfg) == changed {
		t.Error("a new provider variable did not change the tag")
	}
}
