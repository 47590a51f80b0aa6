package secrets

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
)

// longDomain is a 253-character name, the longest a lineage can have.
var longDomain = strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)

func TestName(t *testing.T) {
	tests := []struct {
		name    string
		lineage string
		version int
		file    string
		want    string // "" = only check validity and the stem length
	}{
		{name: "readable", lineage: "example.com", version: 3, file: FileFullchain, want: "certdock.example.com.v3.fullchain.pem"},
		{name: "privkey", lineage: "example.com", version: 1, file: FilePrivkey, want: "certdock.example.com.v1.privkey.pem"},
		{name: "31 characters kept", lineage: strings.Repeat("x", 27) + ".com", version: 12, file: FileCert,
			want: "certdock." + strings.Repeat("x", 27) + ".com.v12.cert.pem"},
		{name: "32 characters shortened", lineage: strings.Repeat("x", 28) + ".com", version: 1, file: FileChain},
		{name: "253 characters, highest version, longest file", lineage: longDomain, version: MaxVersion, file: FileFullchain},
		{name: "underscore and dashes", lineage: "_acme-x.my-site.example", version: 2, file: FileCert, want: "certdock._acme-x.my-site.example.v2.cert.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Name(tt.lineage, tt.version, tt.file)
			if tt.want != "" && got != tt.want {
				t.Errorf("Name = %q, want %q", got, tt.want)
			}
			if err := ValidName(got); err != nil {
				t.Errorf("Name = %q: %v", got, err)
			}
			if got != strings.ToLower(got) {
				t.Errorf("Name = %q is not lower case", got)
			}
			s, v, f, ok := parse(got)
			if !ok || s != stem(tt.lineage) || v != tt.version || f != tt.file {
				t.Errorf("parse(%q) = %q, %d, %q, %v", got, s, v, f, ok)
			}
			if len(tt.lineage) >= stemLen && (len(s) != stemLen || !strings.HasPrefix(tt.lineage, s[:stemLen-1-hashLen])) {
				t.Errorf("stem %q of a long lineage: want %d characters starting with the lineage", s, stemLen)
			}
		})
	}
}

// Shortening is stable, and different lineages never share a name, even
// when they share everything but their last characters, or when a short
// lineage is spelt like another's shortened stem.
func TestNameUnique(t *testing.T) {
	base := strings.Repeat("s", 40) + ".example.com"
	lineages := []string{
		"example.com", "www.example.com", "a", "a.v2", "a.v2.v3", "cert.pem", "a.v1.fullchain.pem",
		base, base[:len(base)-1] + "n", "x" + base, longDomain, longDomain[:252], longDomain[1:],
		strings.Repeat("q", stemLen-1), strings.Repeat("q", stemLen), strings.Repeat("q", stemLen+1),
	}
	lineages = append(lineages, stem(base), stem(longDomain)) // short names spelt like shortened stems
	if Name(longDomain, 5, FileCert) != Name(longDomain, 5, FileCert) {
		t.Fatal("Name is not stable")
	}
	seen := map[string]string{}
	for _, l := range lineages {
		if err := cert.ValidName(l); err != nil {
			t.Fatalf("test lineage %q: %v", l, err)
		}
		for v := 1; v <= 12; v++ {
			for _, f := range Files {
				n := Name(l, v, f)
				key := l + " v" + strconv.Itoa(v) + " " + f
				if prev, dup := seen[strings.ToLower(n)]; dup {
					t.Fatalf("%q is the name of both %s and %s", n, prev, key)
				}
				seen[strings.ToLower(n)] = key
			}
		}
	}
}

func TestParseName(t *testing.T) {
	for _, n := range []string{
		"", "certdock.", "certdock.v1.cert.pem", "certdock.example.com.v1.key.pem", "certdock.example.com.v.cert.pem",
		"certdock.example.com.v01.cert.pem", "certdock.example.com.v+1.cert.pem", "certdock.example.com.v-1.cert.pem",
		"certdock.example.com.cert.pem", "other.example.com.v1.cert.pem", "my-tls-key", "certdock.example.com.v1.fullchain.pem.bak",
	} {
		if s, v, f, ok := parse(n); ok {
			t.Errorf("parse(%q) = %q, %d, %q: want no match", n, s, v, f)
		}
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"certdock.example.com.v1.cert.pem", true}, {"A-b_c.9", true}, {"x", true}, {strings.Repeat("x", 64), true},
		{strings.Repeat("x", 65), false}, {"", false}, {".x", false}, {"x-", false}, {"_x", false},
		{"a/b", false}, {"a b", false}, {"é", false}, {"a*b", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if err := ValidName(tt.in); (err == nil) != tt.ok {
				t.Errorf("ValidName(%q) = %v", tt.in, err)
			}
		})
	}
}

func FuzzName(f *testing.F) {
	f.Add("example.com", "www.example.com", 1, uint8(0))
	f.Add(longDomain, longDomain[1:], MaxVersion, uint8(2))
	f.Add("a.v2", "a", 2, uint8(3))
	f.Fuzz(func(t *testing.T, a, b string, version int, file uint8) {
		if cert.ValidName(a) != nil || version < 1 || version > MaxVersion {
			return
		}
		fl := Files[int(file)%len(Files)]
		n := Name(a, version, fl)
		if err := ValidName(n); err != nil {
			t.Fatalf("Name(%q, %d, %q): %v", a, version, fl, err)
		}
		if s, v, got, ok := parse(n); !ok || s != stem(a) || v != version || got != fl {
			t.Fatalf("parse(%q) = %q, %d, %q, %v", n, s, v, got, ok)
		}
		if cert.ValidName(b) == nil && b != a && strings.EqualFold(Name(b, version, fl), n) {
			t.Fatalf("lineages %q and %q share the name %q", a, b, n)
		}
	})
}

func FuzzParseName(f *testing.F) {
	f.Add("certdock.example.com.v3.fullchain.pem")
	f.Add("certdock.a.v2.v1.cert.pem")
	f.Add("certdock..v1.chain.pem")
	f.Add("db-password")
	f.Fuzz(func(t *testing.T, name string) {
		s, v, fl, ok := parse(name)
		if !ok {
			return
		}
		if s == "" || v < 0 || !slices.Contains(Files, fl) {
			t.Fatalf("parse(%q) = %q, %d, %q", name, s, v, fl)
		}
		if again := NamePrefix + s + ".v" + strconv.Itoa(v) + "." + fl; again != name {
			t.Fatalf("parse(%q) = %q, %d, %q, which spell %q", name, s, v, fl, again)
		}
	})
}
