package store

import (
	"bytes"
	"testing"
)

// renewalServer must read a renewal file exactly as parseRenewalConf does.
func FuzzRenewalServer(f *testing.F) {
	for _, seed := range []string{
		"version = 2.1.0\n[renewalparams]\nserver = https://acme-v02.api.letsencrypt.org/directory\n",
		"[renewalparams]\nserver = \"https://ca.example/dir\"\n[other]\nserver = x\n",
		"server = top\n[renewalparams]\n",
		"[renewalparams\nserver = x\n",
		"[renewalparams]\n= x\n",
		"# comment\r\n[ renewalparams ]\r\n  server=https://a/b  \r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		want := ""
		if conf, err := parseRenewalConf(bytes.NewReader(data)); err == nil {
			want = conf["renewalparams.server"]
		}
		if got := renewalServer(data); got != want {
			t.Fatalf("renewalServer(%q) = %q, parseRenewalConf says %q", data, got, want)
		}
	})
}
