package secrets

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
)

// delivery is the delivery labels produce with no option but the lineage's
// directory.
func delivery(dir string) cert.Delivery {
	return cert.Delivery{Kind: cert.DeliverSecrets, Service: "api", Dir: dir, UID: "0", GID: "0",
		Mode: cert.DefaultDeliveryMode, KeyMode: cert.DefaultDeliveryKeyMode}
}

func TestRefs(t *testing.T) {
	tests := []struct {
		name    string
		lineage string
		version int
		d       cert.Delivery
		want    []Ref
	}{
		{name: "defaults", lineage: "example.com", version: 2, d: delivery("example.com"), want: []Ref{
			{SecretName: "certdock.example.com.v2.cert.pem", Target: "example.com/cert.pem", UID: "0", GID: "0", Mode: 0o444},
			{SecretName: "certdock.example.com.v2.chain.pem", Target: "example.com/chain.pem", UID: "0", GID: "0", Mode: 0o444},
			{SecretName: "certdock.example.com.v2.fullchain.pem", Target: "example.com/fullchain.pem", UID: "0", GID: "0", Mode: 0o444},
			{SecretName: "certdock.example.com.v2.privkey.pem", Target: "example.com/privkey.pem", UID: "0", GID: "0", Mode: 0o400},
		}},
		{name: "absolute dir, owner and one mode", lineage: "example.com", version: 1,
			d: cert.Delivery{Kind: cert.DeliverSecrets, Service: "api", Dir: "/etc/nginx/tls", UID: "101", GID: "33", Mode: 0o440, KeyMode: 0o440},
			want: []Ref{
				{SecretName: "certdock.example.com.v1.cert.pem", Target: "/etc/nginx/tls/cert.pem", UID: "101", GID: "33", Mode: 0o440},
				{SecretName: "certdock.example.com.v1.chain.pem", Target: "/etc/nginx/tls/chain.pem", UID: "101", GID: "33", Mode: 0o440},
				{SecretName: "certdock.example.com.v1.fullchain.pem", Target: "/etc/nginx/tls/fullchain.pem", UID: "101", GID: "33", Mode: 0o440},
				{SecretName: "certdock.example.com.v1.privkey.pem", Target: "/etc/nginx/tls/privkey.pem", UID: "101", GID: "33", Mode: 0o440},
			}},
		{name: "dot is /run/secrets itself; empty fields get defaults", lineage: "example.com", version: 1,
			d: cert.Delivery{Dir: ".", Mode: 0o444, KeyMode: 0o400},
			want: []Ref{
				{SecretName: "certdock.example.com.v1.cert.pem", Target: "cert.pem", UID: "0", GID: "0", Mode: 0o444},
				{SecretName: "certdock.example.com.v1.chain.pem", Target: "chain.pem", UID: "0", GID: "0", Mode: 0o444},
				{SecretName: "certdock.example.com.v1.fullchain.pem", Target: "fullchain.pem", UID: "0", GID: "0", Mode: 0o444},
				{SecretName: "certdock.example.com.v1.privkey.pem", Target: "privkey.pem", UID: "0", GID: "0", Mode: 0o400},
			}},
		{name: "empty dir is the lineage", lineage: "example.com", version: 1, d: cert.Delivery{Mode: 0o444},
			want: []Ref{
				{SecretName: "certdock.example.com.v1.cert.pem", Target: "example.com/cert.pem", UID: "0", GID: "0", Mode: 0o444},
				{SecretName: "certdock.example.com.v1.chain.pem", Target: "example.com/chain.pem", UID: "0", GID: "0", Mode: 0o444},
				{SecretName: "certdock.example.com.v1.fullchain.pem", Target: "example.com/fullchain.pem", UID: "0", GID: "0", Mode: 0o444},
				{SecretName: "certdock.example.com.v1.privkey.pem", Target: "example.com/privkey.pem", UID: "0", GID: "0"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Refs(tt.lineage, tt.version, tt.d); !slices.Equal(got, tt.want) {
				t.Errorf("Refs =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

// The files of a 253-character lineage keep its full name in the target
// and a valid, shortened name for the secret.
func TestRefsLongLineage(t *testing.T) {
	for _, r := range Refs(longDomain, 4, delivery(longDomain)) {
		if err := ValidName(r.SecretName); err != nil {
			t.Error(err)
		}
		if !strings.HasPrefix(r.Target, longDomain+"/") {
			t.Errorf("target %q", r.Target)
		}
	}
}

func TestPlan(t *testing.T) {
	user := []Ref{
		{SecretName: "db-password", Target: "db-password", UID: "0", GID: "0", Mode: 0o444},
		{SecretName: "api-token", Target: "/etc/api/token", UID: "101", GID: "101", Mode: 0o400},
	}
	v1 := Refs("example.com", 1, delivery("example.com"))
	v2 := Refs("example.com", 2, delivery("example.com"))
	other := Refs("other.example.com", 5, delivery("other.example.com"))
	otherV6 := Refs("other.example.com", 6, delivery("other.example.com"))
	longV1 := Refs(longDomain, 1, delivery(longDomain))
	longV2 := Refs(longDomain, 2, delivery(longDomain))
	a := Refs("a", 3, delivery("a"))
	aV4 := Refs("a", 4, delivery("a"))
	av2 := Refs("a.v2", 1, delivery("a.v2"))
	cat := func(lists ...[]Ref) []Ref { return slices.Concat(lists...) }
	reversed := func(l []Ref) []Ref { r := slices.Clone(l); slices.Reverse(r); return r }
	withMode := func(l []Ref, m fs.FileMode) []Ref {
		r := slices.Clone(l)
		for i := range r {
			r[i].Mode = m
		}
		return r
	}
	// A user's secret spelt like one of certdock's, mounted elsewhere.
	lookalike := Ref{SecretName: "certdock.example.com.v9.cert.pem", Target: "/my/cert.pem", UID: "0", GID: "0", Mode: 0o444}
	// certdock's, from a naming scheme Plan cannot parse, at a wanted target.
	legacy := Ref{SecretName: "certdock-example.com-1-cert", Target: "example.com/cert.pem", UID: "0", GID: "0", Mode: 0o444}

	tests := []struct {
		name       string
		current    []Ref
		desired    []Ref
		notManaged []string // names of secrets certdock did not create, besides user's
		wantUpdate bool
		want       []Ref // when wantUpdate
		wantErr    []string
	}{
		{name: "first delivery keeps the user's secrets", current: user, desired: v1, wantUpdate: true, want: cat(user, v1)},
		{name: "first delivery to a service without secrets", current: nil, desired: v1, wantUpdate: true, want: v1},
		{name: "idempotent", current: cat(user, v1), desired: v1},
		{name: "order does not matter", current: reversed(cat(v1, user)), desired: v1},
		{name: "new version swaps all four files at once", current: cat(user, v1), desired: v2, wantUpdate: true, want: cat(user, v2)},
		{name: "repair after stack deploy dropped them", current: user, desired: v2, wantUpdate: true, want: cat(user, v2)},
		{name: "one lineage rotates, the other stays", current: cat(v1, user, other), desired: cat(v2, other), wantUpdate: true, want: cat(user, v2, other)},
		{name: "lineage not in desired is left alone", current: cat(user, other, v1), desired: v2, wantUpdate: true, want: cat(user, other, v2)},
		{name: "lineage not in desired, nothing else to do", current: cat(user, other, v2), desired: v2},
		{name: "two lineages rotate in one update", current: cat(v1, other), desired: cat(v2, otherV6), wantUpdate: true, want: cat(v2, otherV6)},
		{name: "new directory moves the files", current: cat(user, v2), desired: Refs("example.com", 2, delivery("/etc/tls")), wantUpdate: true,
			want: cat(user, Refs("example.com", 2, delivery("/etc/tls")))},
		{name: "new mode updates", current: cat(user, v2), desired: withMode(v2, 0o440), wantUpdate: true, want: cat(user, withMode(v2, 0o440))},
		{name: "long lineage rotates", current: cat(longV1, user), desired: longV2, wantUpdate: true, want: cat(user, longV2)},
		{name: "lineage a rotates, lineage a.v2 stays", current: cat(a, av2), desired: aV4, wantUpdate: true, want: cat(av2, aV4)},
		{name: "a lookalike user secret is kept", current: cat(user, []Ref{lookalike}, v1), desired: v2, notManaged: []string{lookalike.SecretName},
			wantUpdate: true, want: cat(user, []Ref{lookalike}, v2)},
		{name: "certdock's ref at a wanted target is replaced", current: cat(user, []Ref{legacy}), desired: v1, wantUpdate: true, want: cat(user, v1)},

		{name: "user secret with the wanted name", current: cat(user, v1[:1]), desired: v1, notManaged: []string{v1[0].SecretName},
			wantErr: []string{"the service mounts secret certdock.example.com.v1.cert.pem at example.com/cert.pem, which has the name certdock wants but collides"}},
		{name: "user secret with the wanted name in other case", current: []Ref{{SecretName: "CERTDOCK.example.com.v1.cert.pem", Target: "x", UID: "0", GID: "0"}}, desired: v1,
			notManaged: []string{"CERTDOCK.example.com.v1.cert.pem"}, wantErr: []string{"CERTDOCK.example.com.v1.cert.pem"}},
		{name: "user secret at a wanted target", current: []Ref{{SecretName: "my-key", Target: "example.com/privkey.pem", UID: "0", GID: "0", Mode: 0o400}}, desired: v1,
			notManaged: []string{"my-key"}, wantErr: []string{"the service mounts secret my-key at example.com/privkey.pem, where certdock delivers certdock.example.com.v1.privkey.pem"}},
		{name: "two wanted refs at one target", current: user, desired: cat(v1, Refs("other.example.com", 1, delivery("example.com"))),
			wantErr: []string{"would both be mounted at example.com/cert.pem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			notManaged := map[string]bool{}
			for _, r := range user {
				notManaged[r.SecretName] = true
			}
			for _, n := range tt.notManaged {
				notManaged[n] = true
			}
			managed := func(name string) bool { return !notManaged[name] }
			current := slices.Clone(tt.current)
			update, next, err := Plan(current, tt.desired, managed)
			if !slices.Equal(current, tt.current) {
				t.Fatal("Plan changed its input")
			}
			if len(tt.wantErr) > 0 {
				if !errors.Is(err, ErrCollision) && !strings.Contains(err.Error(), "would both") {
					t.Fatalf("err = %v, want a collision", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err = %q, want it to contain %q", err, w)
					}
				}
				if update || next != nil {
					t.Errorf("Plan = %v, %v with an error", update, next)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if update != tt.wantUpdate {
				t.Fatalf("update = %v, want %v (next %v)", update, tt.wantUpdate, next)
			}
			if !update {
				if !slices.Equal(next, tt.current) {
					t.Errorf("next = %v, want current unchanged", next)
				}
				return
			}
			if !slices.Equal(next, tt.want) {
				t.Errorf("next =\n%v\nwant\n%v", next, tt.want)
			}
			// Applying the plan and planning again changes nothing.
			if again, _, err := Plan(next, tt.desired, managed); again || err != nil {
				t.Errorf("second Plan = %v, %v: not idempotent", again, err)
			}
		})
	}
}
