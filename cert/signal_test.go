package cert

import (
	"strings"
	"testing"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "full name", in: "SIGHUP", want: "SIGHUP"},
		{name: "short name", in: "HUP", want: "SIGHUP"},
		{name: "lower case", in: "sigusr1", want: "SIGUSR1"},
		{name: "mixed case short", in: "Usr2", want: "SIGUSR2"},
		{name: "spaces", in: "  SIGTERM ", want: "SIGTERM"},
		{name: "number", in: "1", want: "SIGHUP"},
		{name: "number of usr1", in: "10", want: "SIGUSR1"},
		{name: "alias", in: "SIGIOT", want: "SIGABRT"},
		{name: "alias cld", in: "cld", want: "SIGCHLD"},
		{name: "realtime number", in: "40", want: "40"},
		{name: "highest number", in: "64", want: "64"},
		{name: "rtmin", in: "SIGRTMIN", want: "SIGRTMIN"},
		{name: "rtmin plus", in: "rtmin+3", want: "SIGRTMIN+3"},
		{name: "rtmax minus", in: "SIGRTMAX-2", want: "SIGRTMAX-2"},
		{name: "rtmin plus zero", in: "RTMIN+0", want: "SIGRTMIN"},
		{name: "rtmin plus whole range", in: "RTMIN+30", want: "SIGRTMIN+30"},
		{name: "kill is valid", in: "KILL", want: "SIGKILL"},
		{name: "empty", in: "", wantErr: true},
		{name: "blank", in: "   ", wantErr: true},
		{name: "zero", in: "0", wantErr: true},
		{name: "negative", in: "-1", wantErr: true},
		{name: "too high", in: "65", wantErr: true},
		{name: "unknown name", in: "SIGFOO", wantErr: true},
		{name: "sig only", in: "SIG", wantErr: true},
		{name: "double prefix", in: "SIGSIGHUP", wantErr: true},
		{name: "rtmin out of range", in: "RTMIN+31", wantErr: true},
		{name: "rtmax out of range", in: "RTMAX-31", wantErr: true},
		{name: "rtmin double sign", in: "RTMIN++1", wantErr: true},
		{name: "rtmin wrong sign", in: "RTMIN-1", wantErr: true},
		{name: "rtmin no offset", in: "RTMIN+", wantErr: true},
		{name: "command", in: "HUP; rm -rf /", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSignal(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseSignal(%q) = %q, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSignal(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzParseSignal(f *testing.F) {
	for _, s := range []string{"SIGHUP", "hup", "1", "64", "RTMIN+3", "SIGRTMAX-1", "SIGFOO", "", "RTMIN++1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSignal(s)
		if err != nil {
			return
		}
		// The result is canonical: parsing it again gives it back.
		again, err := ParseSignal(got)
		if err != nil || again != got {
			t.Fatalf("ParseSignal(%q) = %q, but ParseSignal(%q) = %q, %v", s, got, got, again, err)
		}
		if !strings.HasPrefix(got, "SIG") && (len(got) > 2 || strings.Trim(got, "0123456789") != "") {
			t.Fatalf("ParseSignal(%q) = %q: neither a SIG name nor a number", s, got)
		}
	})
}
