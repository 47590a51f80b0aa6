package secrets

import (
	"slices"
	"testing"
	"time"
)

func TestGarbage(t *testing.T) {
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	mine := func(id string, version int, file string) Secret {
		return Secret{ID: id, Name: Name("example.com", version, file), Labels: Labels("example.com", version, at, "f")}
	}
	v1, v2, v3 := mine("s1", 1, FileCert), mine("s2", 2, FileCert), mine("s3", 3, FileCert)
	long := Secret{ID: "l1", Name: Name(longDomain, 1, FilePrivkey), Labels: Labels(longDomain, 1, at, "f")}
	userLookalike := Secret{ID: "u1", Name: Name("example.com", 1, FileChain), Labels: map[string]string{"owner": "me"}}
	userPlain := Secret{ID: "u2", Name: "db-password"}
	ref := func(s Secret) Ref {
		return Ref{SecretName: s.Name, Target: "t/" + s.ID, UID: "0", GID: "0", Mode: 0o444}
	}
	all := []Secret{v1, v2, v3, long, userLookalike, userPlain}

	tests := []struct {
		name     string
		secrets  []Secret
		spec     []Ref // the services' Specs
		previous []Ref // their PreviousSpecs
		pass     []Ref // what the pass is about to refer to
		want     []string
	}{
		{name: "nothing refers to anything: only certdock's go", secrets: all, want: []string{"s1", "s2", "s3", "l1"}},
		{name: "Spec and PreviousSpec protect", secrets: all, spec: []Ref{ref(v3)}, previous: []Ref{ref(v2)}, want: []string{"s1", "l1"}},
		{name: "the pass protects what it is about to use", secrets: all, spec: []Ref{ref(v2)}, pass: []Ref{ref(v3), ref(long)}, want: []string{"s1"}},
		{name: "names compare regardless of case", secrets: []Secret{v1}, spec: []Ref{{SecretName: "CERTDOCK.EXAMPLE.COM.V1.CERT.PEM"}}},
		{name: "a user's secret is never garbage, referenced or not", secrets: []Secret{userLookalike, userPlain}},
		{name: "certdock's label under another prefix does not count", secrets: []Secret{{ID: "x", Name: "certdock.x.v1.cert.pem", Labels: map[string]string{"acme.managed-by": "certdock"}}}},
		{name: "no secrets", secrets: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range Garbage(tt.secrets, Referenced(tt.spec, tt.previous, tt.pass)) {
				got = append(got, s.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Garbage = %q, want %q", got, tt.want)
			}
		})
	}
}
