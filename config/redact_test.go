package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestConfigNeverPrintsSecrets(t *testing.T) {
	const hmac, pass = "c2VjcmV0LWhtYWMta2V5LWZvci1lYWItYmluZGluZw", "pfx-Passphrase-42"
	env := map[string]string{
		"ACME_EAB_KID": "kid-1", "ACME_EAB_HMAC": hmac,
		"PFX_EXPORT": "true", "PFX_EXPORT_PASSPHRASE": pass,
		"CERTDOCK_DIR": t.TempDir(),
	}
	c, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", c, "value", *c)
	for _, out := range []string{
		fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", *c),
		fmt.Sprint(*c), logs.String(),
	} {
		if strings.Contains(out, hmac) || strings.Contains(out, pass) {
			t.Fatalf("a secret was printed: %s", out)
		}
		if !strings.Contains(out, "kid-1") {
			t.Fatalf("the masked summary is missing: %s", out)
		}
	}
}
