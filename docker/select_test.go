package docker

import "testing"

func TestSelectedExtraPrefixes(t *testing.T) {
	only := newClient(nil, Options{LabelPrefix: "certdock"})
	both := newClient(nil, Options{LabelPrefix: "certdock", ExtraLabelPrefixes: []string{"traefik"}})
	tests := []struct {
		labels     map[string]string
		only, both bool
	}{
		{map[string]string{"certdock.domains": "a.example.com"}, true, true},
		{map[string]string{"traefik.http.routers.a.rule": "Host(`a.example.com`)"}, false, true},
		{map[string]string{"traefikx.enable": "true", "com.example": "x"}, false, false},
		{nil, false, false},
	}
	for _, tt := range tests {
		if got := only.selected(tt.labels); got != tt.only {
			t.Errorf("certdock only: selected(%v) = %t", tt.labels, got)
		}
		if got := both.selected(tt.labels); got != tt.both {
			t.Errorf("certdock and traefik: selected(%v) = %t", tt.labels, got)
		}
	}
}
