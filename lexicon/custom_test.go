package lexicon

import "testing"

func TestNormalizeBool(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "true", in: "true", want: "true"},
		{name: "yes any case", in: " YES ", want: "true"},
		{name: "one", in: "1", want: "true"},
		{name: "on", in: "On", want: "true"},
		{name: "false", in: "False", want: "false"},
		{name: "no", in: "no", want: "false"},
		{name: "zero", in: "0", want: "false"},
		{name: "off", in: "off", want: "false"},
		{name: "empty", in: "  ", want: "false"},
		{name: "not a boolean", in: "sandbox", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := normalizeBool(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("normalizeBool(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
