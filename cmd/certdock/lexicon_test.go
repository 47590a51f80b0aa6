package main

import (
	"strings"
	"testing"
)

func TestCheckTranslatesLexicon(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		provider string
		wantOut  []string
	}{
		{
			name:     "cloudflare token from LEXICON_CLOUDFLARE_AUTH_TOKEN",
			env:      map[string]string{"LEXICON_PROVIDER": "cloudflare", "LEXICON_CLOUDFLARE_AUTH_TOKEN": "tok-1234567890-secret"},
			provider: "DNS provider: cloudflare",
			wantOut:  []string{"CLOUDFLARE_DNS_API_TOKEN=*** (21 characters)", "LEXICON_CLOUDFLARE_AUTH_TOKEN", "credentials: found"},
		},
		{
			name:     "gandi becomes gandiv5",
			env:      map[string]string{"LEXICON_PROVIDER": "gandi", "LEXICON_PROVIDER_OPTIONS": "--auth-token=tok-1234567890-secret"},
			provider: "DNS provider: gandiv5",
			wantOut:  []string{"GANDIV5_", "*** (21 characters)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := cleanEnv(t, "LEXICON_", "CLOUDFLARE_", "GANDIV5_", "CF_")
			writeDomains(t, dir, "a.example.com\n")
			// applyLexicon sets lego's variables in the process: register
			// them so the test's cleanup removes them again.
			for _, k := range []string{"CLOUDFLARE_DNS_API_TOKEN", "CLOUDFLARE_EMAIL", "CLOUDFLARE_API_KEY", "GANDIV5_PERSONAL_ACCESS_TOKEN", "GANDIV5_API_KEY"} {
				t.Setenv(k, "")
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := runCmd(t, "check")
			out := r.all()
			if !strings.Contains(out, tt.provider) {
				t.Errorf("output lacks %q", tt.provider)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if strings.Contains(out, "tok-1234567890-secret") {
				t.Error("the token appears unmasked")
			}
		})
	}
}
