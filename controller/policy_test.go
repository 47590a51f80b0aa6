package controller

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/cert"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	const server = "https://ca.example/dir"
	valid := func() *cert.Lineage {
		return &cert.Lineage{
			Name: "example.com", Domains: []string{"example.com", "www.example.com"},
			NotBefore: now.Add(-10 * 24 * time.Hour), NotAfter: now.Add(80 * 24 * time.Hour),
			KeyType: cert.EC256, Server: server,
		}
	}
	spec := cert.Spec{Name: "example.com", Domains: []string{"www.example.com", "example.com"}}
	tests := []struct {
		name       string
		spec       cert.Spec
		cur        func() *cert.Lineage
		loadErr    error
		wantIssue  bool
		wantReason string
	}{
		{name: "missing", spec: spec, loadErr: fmt.Errorf("load: %w", fs.ErrNotExist), wantIssue: true, wantReason: "missing"},
		{name: "unreadable", spec: spec, loadErr: errors.New("privkey.pem does not match cert.pem"), wantIssue: true, wantReason: "unreadable"},
		{name: "valid, domains in other order", spec: spec, cur: valid, wantReason: "valid until"},
		{name: "domains changed", spec: cert.Spec{Name: "example.com", Domains: []string{"example.com"}}, cur: valid, wantIssue: true, wantReason: "domains changed"},
		{name: "key type changed", spec: cert.Spec{Name: "example.com", Domains: spec.Domains, KeyType: cert.RSA2048}, cur: valid, wantIssue: true, wantReason: "key type changed"},
		{name: "CA changed", spec: spec, cur: func() *cert.Lineage { l := valid(); l.Server = "https://other/dir"; return l }, wantIssue: true, wantReason: "CA changed"},
		{name: "unknown CA kept", spec: spec, cur: func() *cert.Lineage { l := valid(); l.Server = ""; return l }, wantReason: "valid until"},
		{name: "inside window", spec: spec, cur: func() *cert.Lineage {
			l := valid()
			l.NotBefore, l.NotAfter = now.Add(-70*24*time.Hour), now.Add(20*24*time.Hour)
			return l
		}, wantIssue: true, wantReason: "renewal window"},
		{name: "expired", spec: spec, cur: func() *cert.Lineage {
			l := valid()
			l.NotBefore, l.NotAfter = now.Add(-91*24*time.Hour), now.Add(-time.Hour)
			return l
		}, wantIssue: true, wantReason: "expired"},
		{name: "short-lived, not yet half", spec: spec, cur: func() *cert.Lineage {
			l := valid()
			l.NotBefore, l.NotAfter = now.Add(-2*24*time.Hour), now.Add(4*24*time.Hour)
			return l
		}, wantReason: "valid until"},
		{name: "short-lived, past half", spec: spec, cur: func() *cert.Lineage {
			l := valid()
			l.NotBefore, l.NotAfter = now.Add(-4*24*time.Hour), now.Add(2*24*time.Hour)
			return l
		}, wantIssue: true, wantReason: "renewal window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Spec: tt.spec, LoadErr: tt.loadErr, Now: now, Server: server, DefaultKeyType: cert.EC256}
			if tt.cur != nil {
				in.Current = tt.cur()
			}
			d := Evaluate(in)
			if d.Issue() != tt.wantIssue || !strings.Contains(d.String(), tt.wantReason) {
				t.Errorf("Evaluate = {%v %q}, want {%v ~%q}", d.Issue(), d.String(), tt.wantIssue, tt.wantReason)
			}
		})
	}
}

func TestRenewalTime(t *testing.T) {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		life time.Duration
		want time.Duration // after notBefore
	}{
		{name: "90 days renews with 30 left", life: 90 * 24 * time.Hour, want: 60 * 24 * time.Hour},
		{name: "6 days renews at half", life: 6 * 24 * time.Hour, want: 3 * 24 * time.Hour},
		{name: "10 days renews at half", life: 10 * 24 * time.Hour, want: 5 * 24 * time.Hour},
		{name: "5 minutes", life: 5 * time.Minute, want: 150 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RenewalTime(nb, nb.Add(tt.life)).Sub(nb); got != tt.want {
				t.Errorf("RenewalTime = +%v, want +%v", got, tt.want)
			}
		})
	}
}
