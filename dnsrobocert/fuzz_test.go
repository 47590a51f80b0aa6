package dnsrobocert

import (
	"errors"
	"strings"
	"testing"
)

// FuzzRead: any document either reads or fails with *Error values that
// name the file; reading is deterministic; a document that reads gives
// profiles and certificates whose conversion never panics, whose
// certificates name existing profiles and unique lineages.
func FuzzRead(f *testing.F) {
	f.Add(example)
	f.Add("draft: true\n")
	f.Add("acme: {api_version: 1}\n")
	f.Add("a: &x [*x]\n")
	f.Add("profiles:\n- {name: p, provider: cloudflare, provider_options: {auth_token: ${T}}}\ncertificates:\n- {domains: ['*.a.example.com', a.example.com], profile: p}\n")
	f.Add("certificates: [{domains: [x], profile: q}]\nprofiles: [{name: q, provider: rfc2136, provider_options: {DNSUPDATE_TSIG_KEY: k}}]\n")
	lookup := env(map[string]string{"T": "tok", "ACME_EMAIL": "a@example.com", "DO_TOKEN": "d"})
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := Read("config.yml", []byte(doc), lookup)
		_, err2 := Read("config.yml", []byte(doc), lookup)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("two reads differ: %v / %v", err, err2)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "config.yml") {
				t.Fatalf("error %q is not an *Error naming the file", err)
			}
			return
		}
		profiles := map[string]bool{}
		for _, p := range c.Profiles {
			profiles[p.Name] = true
		}
		lineages := map[string]bool{}
		for _, ct := range c.Certificates {
			if !profiles[ct.Profile] {
				t.Fatalf("certificate %s names missing profile %q", ct.Lineage(), ct.Profile)
			}
			if lineages[ct.Lineage()] {
				t.Fatalf("lineage %s twice", ct.Lineage())
			}
			lineages[ct.Lineage()] = true
		}
		c.Env()
		c.DNSProfiles()
		specs, _ := c.Specs()
		for _, s := range specs {
			if len(s.Domains) == 0 || s.Name == "" || s.DNSProfile == "" {
				t.Fatalf("incomplete spec %+v", s)
			}
		}
	})
}
