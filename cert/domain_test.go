package cert

import "testing"

func TestNormalizeDomain(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "lower case", in: "WWW.Example.COM", want: "www.example.com"},
		{name: "trailing dot", in: "example.com.", want: "example.com"},
		{name: "wildcard", in: "*.Example.com", want: "*.example.com"},
		{name: "idna", in: "bücher.example", want: "xn--bcher-kva.example"},
		{name: "idna upper", in: "BÜCHER.example", want: "xn--bcher-kva.example"},
		{name: "underscore refused by CAs", in: "_dmarc.example.com", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "single label", in: "localhost", wantErr: true},
		{name: "inner wildcard", in: "a.*.example.com", wantErr: true},
		{name: "partial wildcard", in: "w*.example.com", wantErr: true},
		{name: "double wildcard", in: "*.*.example.com", wantErr: true},
		{name: "empty label", in: "a..example.com", wantErr: true},
		{name: "ip", in: "192.168.1.1", wantErr: true},
		{name: "hyphen start", in: "-a.example.com", wantErr: true},
		{name: "slash", in: "a/b.example.com", wantErr: true},
		{name: "long label", in: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeDomain(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NormalizeDomain(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("NormalizeDomain(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCoveredBy(t *testing.T) {
	tests := []struct {
		name, host, wildcard string
		want                 bool
	}{
		{name: "direct child", host: "a.example.com", wildcard: "*.example.com", want: true},
		{name: "apex not covered", host: "example.com", wildcard: "*.example.com"},
		{name: "grandchild not covered", host: "a.b.example.com", wildcard: "*.example.com"},
		{name: "other zone", host: "a.example.org", wildcard: "*.example.com"},
		{name: "not a wildcard", host: "a.example.com", wildcard: "example.com"},
		{name: "wildcard itself", host: "*.example.com", wildcard: "*.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CoveredBy(tt.host, tt.wildcard); got != tt.want {
				t.Errorf("CoveredBy(%q, %q) = %v, want %v", tt.host, tt.wildcard, got, tt.want)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"example.com", "xn--bcher-kva.example", "mail_1.example.com"} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "..", "../etc", "a/b", ".hidden", "-x", "A.com", "a b"} {
		if err := ValidName(bad); err == nil {
			t.Errorf("ValidName(%q) = nil, want error", bad)
		}
	}
}

func TestParseKeyType(t *testing.T) {
	for in, want := range map[string]KeyType{"ec256": EC256, "EC384": EC384, "P256": EC256, "rsa4096": RSA4096} {
		if got, err := ParseKeyType(in); err != nil || got != want {
			t.Errorf("ParseKeyType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseKeyType("dsa"); err == nil {
		t.Error("ParseKeyType(dsa) succeeded")
	}
}

func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{"example.com", "*.example.com", "bücher.example", "a..b", "*.*.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeDomain(s)
		if err != nil {
			return
		}
		again, err := NormalizeDomain(got)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", s, got, again, err)
		}
		if err := ValidName(LineageName(got)); err != nil {
			t.Fatalf("normalised %q gives invalid lineage name: %v", got, err)
		}
	})
}
