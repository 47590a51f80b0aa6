package secrets

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"
)

func TestLabels(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	got := Labels(longDomain, 7, time.Date(2027, 3, 1, 13, 0, 0, 0, paris), "ab12")
	want := map[string]string{
		"certdock.managed-by":  "certdock",
		"certdock.lineage":     longDomain,
		"certdock.version":     "7",
		"certdock.not-after":   "2027-03-01T12:00:00Z",
		"certdock.fingerprint": "ab12",
	}
	if !maps.Equal(got, want) {
		t.Errorf("Labels = %v, want %v", got, want)
	}
	if !Managed(got) {
		t.Error("Managed(Labels(...)) = false")
	}
}

func TestManaged(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{name: "certdock's", labels: map[string]string{LabelManaged: ManagedBy}, want: true},
		{name: "nil", labels: nil},
		{name: "another manager", labels: map[string]string{LabelManaged: "someone"}},
		{name: "lineage alone is not enough", labels: map[string]string{LabelLineage: "example.com", LabelVersion: "1"}},
		{name: "configured prefix is not the marker", labels: map[string]string{"acme.managed-by": ManagedBy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Managed(tt.labels); got != tt.want {
				t.Errorf("Managed(%v) = %v", tt.labels, got)
			}
		})
	}
}

func TestReusable(t *testing.T) {
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	want := Labels("example.com", 3, at, "f3")
	name := Name("example.com", 3, FileCert)
	tests := []struct {
		name    string
		labels  map[string]string
		wantErr error
		msg     string
	}{
		{name: "same version", labels: Labels("example.com", 3, at, "f3")},
		{name: "not-after is not compared", labels: Labels("example.com", 3, at.Add(time.Hour), "f3")},
		{name: "user's secret", labels: map[string]string{"owner": "me"}, wantErr: ErrNotManaged, msg: "secrets: secret " + name + " (id1): not created by certdock"},
		{name: "no labels", wantErr: ErrNotManaged},
		{name: "other content", labels: Labels("example.com", 3, at, "f9"), wantErr: ErrStale, msg: `certdock.fingerprint is "f9", want "f3"`},
		{name: "other version", labels: Labels("example.com", 2, at, "f3"), wantErr: ErrStale, msg: "certdock.version"},
		{name: "other lineage under a shortened name", labels: Labels("other.example.com", 3, at, "f3"), wantErr: ErrStale, msg: "certdock.lineage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Reusable(Secret{ID: "id1", Name: name, Labels: tt.labels}, want)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Reusable = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Reusable = %q, want it to contain %q", err, tt.msg)
			}
		})
	}
}
