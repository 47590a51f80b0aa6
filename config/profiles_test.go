package config

import (
	"strings"
	"testing"
	"time"
)

func TestReadProfiles(t *testing.T) {
	ps, errs := ReadProfiles([]string{
		"PATH=/bin",
		"CERTDOCK_PROFILE_CORP_PROVIDER=rfc2136",
		"CERTDOCK_PROFILE_CORP_ZONES=Example.COM., example.org,example.com",
		"CERTDOCK_PROFILE_CORP_DNSUPDATE_TSIG_SECRET=s3cret",
		"CERTDOCK_PROFILE_CORP_DNSUPDATE_NAMESERVER=127.0.0.1:53",
		"CERTDOCK_PROFILE_lab_PROVIDER=Cloudflare",
		"CERTDOCK_PROFILE_lab_CLOUDFLARE_DNS_API_TOKEN_FILE=/run/secrets/cf",
		"CERTDOCK_PROFILE_lab_DELEGATED_SUBDOMAIN=acme.example.net",
		"CERTDOCK_PROFILE_lab_SLEEP_TIME=5",
		"CERTDOCK_PROFILE_EMPTY_PROVIDER=",
	})
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if len(ps) != 2 {
		t.Fatalf("profiles: %+v", ps)
	}
	corp, lab := ps[0], ps[1]
	if corp.Name != "corp" || corp.Provider != "rfc2136" || strings.Join(corp.Zones, ",") != "example.com,example.org" ||
		corp.Vars["DNSUPDATE_TSIG_SECRET"] != "s3cret" || corp.Vars["DNSUPDATE_NAMESERVER"] != "127.0.0.1:53" || len(corp.Vars) != 2 ||
		corp.Origin != "CERTDOCK_PROFILE_CORP_*" {
		t.Errorf("corp: %+v", corp)
	}
	if lab.Name != "lab" || lab.Provider != "cloudflare" || len(lab.Zones) != 0 || lab.Vars["CLOUDFLARE_DNS_API_TOKEN_FILE"] != "/run/secrets/cf" ||
		lab.DelegatedSubdomain != "acme.example.net" || lab.SleepTime != 5*time.Second {
		t.Errorf("lab: %+v", lab)
	}
}

func TestReadProfilesErrors(t *testing.T) {
	tests := []struct {
		env  string
		want string
	}{
		{"CERTDOCK_PROFILE_A_ZONES=example.com", "CERTDOCK_PROFILE_A_PROVIDER: missing: profile \"a\" needs a lego DNS provider name"},
		{"CERTDOCK_PROFILE_A_PROVIDER=cloud flare", `CERTDOCK_PROFILE_A_PROVIDER: "cloud flare" is not a DNS provider name`},
		{"CERTDOCK_PROFILE_A_ZONES=*.example.com", `CERTDOCK_PROFILE_A_ZONES: zone "*.example.com": a zone is a domain name, not a wildcard`},
		{"CERTDOCK_PROFILE_A_ZONES=exa mple..com", `CERTDOCK_PROFILE_A_ZONES: zone "exa"`},
		{"CERTDOCK_PROFILE_A_SLEEP_TIME=soon", `CERTDOCK_PROFILE_A_SLEEP_TIME: "soon" is not a whole number of seconds`},
		{"CERTDOCK_PROFILE_A=x", "CERTDOCK_PROFILE_A: not a profile variable"},
		{"CERTDOCK_PROFILE_A.B_PROVIDER=x", "CERTDOCK_PROFILE_A.B_PROVIDER: not a profile variable"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			ps, errs := ReadProfiles([]string{tt.env, "CERTDOCK_PROFILE_OK_PROVIDER=rfc2136"})
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tt.want) {
				t.Errorf("errors %q lack %q", all, tt.want)
			}
			// The good profile is still read; the bad one is left out.
			if len(ps) != 1 || ps[0].Name != "ok" {
				t.Errorf("profiles %+v", ps)
			}
		})
	}
}
