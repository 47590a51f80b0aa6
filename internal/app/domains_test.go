package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func TestDomainsSourceAvailability(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "domains.conf")
	src := DomainsSource(path, false, slog.New(slog.DiscardHandler))
	tests := []struct {
		name      string
		content   *string
		available bool
	}{
		{name: "missing file", available: false},
		{name: "clean file", content: ptr("a.example.com\nb.example.com\n"), available: true},
		{name: "a bad line (maybe a certificate's line with a typo)", content: ptr("a.example.com\nb..example.com\n"), available: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(path)
			if tt.content != nil {
				if err := os.WriteFile(path, []byte(*tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, got := src.Desired(context.Background()); got != tt.available {
				t.Errorf("Desired() complete = %v, want %v", got, tt.available)
			}
		})
	}
}

func ptr(s string) *string { return &s }
