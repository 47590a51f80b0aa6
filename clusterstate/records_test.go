package clusterstate

import (
	"bytes"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
)

func testRecord() VersionRecord {
	return VersionRecord{
		Lineage: "mail.example.com",
		Version: 3,
		Bundle: cert.Bundle{
			Cert:       []byte("-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n"),
			Chain:      []byte("-----BEGIN CERTIFICATE-----\nissuer\n-----END CERTIFICATE-----\n"),
			PrivateKey: []byte("-----BEGIN EC PRIVATE KEY-----\nthe key\n-----END EC PRIVATE KEY-----\n"),
		},
		Meta: cert.IssueMeta{Server: "https://acme.example/dir", Account: "abc", KeyType: cert.KeyType("ec256"),
			Provider: "rfc2136", IssuedAt: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC), CertURL: "https://acme.example/cert/1"},
	}
}

func TestVersionRecordRoundTrip(t *testing.T) {
	k := testKey(t, 3)
	r := testRecord()
	name, data, labels, err := EncodeVersion(k, r)
	if err != nil {
		t.Fatal(err)
	}
	if name != "certdock-v-mail.example.com-3" {
		t.Errorf("name %q", name)
	}
	// What anyone who may read configs sees: the certificate, never the
	// key.
	if bytes.Contains(data, []byte("PRIVATE KEY")) || bytes.Contains(data, []byte("the key")) {
		t.Fatal("the private key is readable in the config data")
	}
	got, err := DecodeVersion(k, name, labels, data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bundle.PrivateKey, r.Bundle.PrivateKey) || !bytes.Equal(got.Bundle.Cert, r.Bundle.Cert) ||
		!bytes.Equal(got.Bundle.Chain, r.Bundle.Chain) || got.Meta != r.Meta || got.Version != 3 || got.Lineage != r.Lineage {
		t.Fatalf("round trip: %+v", got)
	}
}

func TestVersionRecordRefusals(t *testing.T) {
	k := testKey(t, 3)
	name, data, labels, err := EncodeVersion(k, testRecord())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeVersion(testKey(t, 4), name, labels, data); !errors.Is(err, ErrWrongKey) {
		t.Errorf("another key: %v", err)
	}
	moved := maps.Clone(labels)
	moved[LabelLineage] = "other.example.com"
	if _, err := DecodeVersion(k, name, moved, data); !errors.Is(err, ErrMismatch) {
		t.Errorf("labels of another lineage: %v", err)
	}
	if _, err := DecodeVersion(k, "certdock-v-mail.example.com-4", labels, data); !errors.Is(err, ErrMismatch) {
		t.Errorf("under another name: %v", err)
	}
	newer := maps.Clone(labels)
	newer[LabelRecordFormat] = "2"
	if _, err := DecodeVersion(k, name, newer, data); !errors.Is(err, ErrNewer) {
		t.Errorf("newer format: %v", err)
	}
	// A record whose key was sealed for version 2 but claims version 3
	// (data edited by hand): the key does not open.
	r2 := testRecord()
	r2.Version = 2
	_, data2, _, _ := EncodeVersion(k, r2)
	edited := bytes.Replace(data2, []byte(`"version":2`), []byte(`"version":3`), 1)
	if _, err := DecodeVersion(k, name, labels, edited); !errors.Is(err, ErrCorrupt) {
		t.Errorf("key moved to another version: %v", err)
	}
	for _, bad := range []VersionRecord{{Lineage: "../x", Version: 1}, {Lineage: "a.example", Version: 0}} {
		bad.Bundle = testRecord().Bundle
		if _, _, _, err := EncodeVersion(k, bad); err == nil {
			t.Errorf("EncodeVersion(%s v%d) accepted", bad.Lineage, bad.Version)
		}
	}
}

func TestVersionConfigNameLimits(t *testing.T) {
	long1 := strings.Repeat("a", 60) + ".example.com"
	long2 := strings.Repeat("a", 60) + ".example.org"
	seen := map[string]bool{}
	for _, l := range []string{"a.example", long1, long2} {
		for _, v := range []int{1, 99999} {
			n := VersionConfigName(l, v)
			if len(n) > maxConfigName {
				t.Errorf("%s v%d: %q is %d characters", l, v, n, len(n))
			}
			if seen[n] {
				t.Errorf("%q named twice", n)
			}
			seen[n] = true
			if VersionConfigName(l, v) != n {
				t.Errorf("unstable name for %s v%d", l, v)
			}
		}
	}
}

func FuzzDecodeVersion(f *testing.F) {
	k, _ := NewKey(bytes.Repeat([]byte{9}, KeySize))
	name, data, labels, _ := EncodeVersion(k, testRecord())
	f.Add(name, labels[LabelLineage], labels[LabelVersion], data)
	f.Add("x", "x", "1", []byte(`{"format":1}`))
	f.Fuzz(func(t *testing.T, name, lineage, version string, data []byte) {
		labels := map[string]string{LabelState: "version", LabelLineage: lineage, LabelVersion: version, LabelRecordFormat: "1"}
		r, err := DecodeVersion(k, name, labels, data)
		if err != nil {
			return
		}
		// Whatever decodes names itself consistently.
		if VersionConfigName(r.Lineage, r.Version) != name || cert.ValidName(r.Lineage) != nil {
			t.Fatalf("decoded an inconsistent record: %s v%d under %q", r.Lineage, r.Version, name)
		}
	})
}
