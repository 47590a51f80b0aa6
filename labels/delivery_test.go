package labels

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
)

func TestParseDelivery(t *testing.T) {
	svc := func(l map[string]string) Workload { return Workload{Kind: Service, Name: "api", Labels: l} }
	with := func(extra map[string]string) map[string]string {
		l := map[string]string{"certdock.domains": "api.example.com", "certdock.secrets": "true"}
		for k, v := range extra {
			l[k] = v
		}
		return l
	}
	def := func(dir string) cert.Delivery {
		return cert.Delivery{Kind: cert.DeliverSecrets, Service: "api", Dir: dir, UID: "0", GID: "0", Mode: 0o444, KeyMode: 0o400}
	}
	tests := []struct {
		name    string
		w       Workload
		specs   []string          // names of the specs returned
		want    [][]cert.Delivery // deliveries per spec
		wantErr []string          // substrings, one per problem
	}{
		{name: "defaults", w: svc(with(nil)),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{{def("api.example.com")}}},
		{name: "false is no delivery", w: svc(with(map[string]string{"certdock.secrets": "false"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}},
		{name: "every option", w: svc(with(map[string]string{"certdock.secrets.dir": "/etc/nginx/tls", "certdock.secrets.uid": "101", "certdock.secrets.gid": "0101", "certdock.secrets.mode": "440"})),
			specs: []string{"api.example.com"},
			want:  [][]cert.Delivery{{{Kind: cert.DeliverSecrets, Service: "api", Dir: "/etc/nginx/tls", UID: "101", GID: "101", Mode: 0o440, KeyMode: 0o440}}}},
		{name: "relative dir", w: svc(with(map[string]string{"certdock.secrets.dir": "tls/api"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{{def("tls/api")}}},
		{name: "dot is /run/secrets itself", w: svc(with(map[string]string{"certdock.secrets.dir": "."})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{{def(".")}}},
		{name: "mode 0 allowed", w: svc(with(map[string]string{"certdock.secrets.mode": "0"})),
			specs: []string{"api.example.com"},
			want:  [][]cert.Delivery{{{Kind: cert.DeliverSecrets, Service: "api", Dir: "api.example.com", UID: "0", GID: "0"}}}},
		{name: "name override names the directory", w: svc(with(map[string]string{"certdock.name": "web"})),
			specs: []string{"web"}, want: [][]cert.Delivery{{def("web")}}},
		{name: "subscriptions get a directory each", w: svc(map[string]string{"certdock.cert": "a.example.com,b.example.com", "certdock.secrets": "1"}),
			specs: []string{"a.example.com", "b.example.com"}, want: [][]cert.Delivery{{def("a.example.com")}, {def("b.example.com")}}},
		{name: "with restart: both kept", w: svc(with(map[string]string{"certdock.restart": "true"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{{def("api.example.com")}}},

		{name: "plain container: delivery skipped, rest served", w: Workload{Kind: Container, Name: "web", Labels: with(map[string]string{"certdock.restart": "true"})},
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil},
			wantErr: []string{"container web: label certdock.secrets: Swarm secrets can only be delivered to a Swarm service"}},
		{name: "not a bool", w: svc(with(map[string]string{"certdock.secrets": "yes please"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil},
			wantErr: []string{`service api: label certdock.secrets: "yes please" is not true or false`}},
		{name: "nothing to deliver", w: svc(map[string]string{"certdock.secrets": "true"}),
			wantErr: []string{"service api: label certdock.secrets: no certificate to deliver"}},
		{name: "options without secrets", w: svc(map[string]string{"certdock.domains": "api.example.com", "certdock.secrets.dir": "x", "certdock.secrets.mode": "0440"}),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil},
			wantErr: []string{"service api: label certdock.secrets.dir: has no effect without certdock.secrets=true", "service api: label certdock.secrets.mode: has no effect"}},
		{name: "options with secrets=false", w: svc(with(map[string]string{"certdock.secrets": "false", "certdock.secrets.uid": "1"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil},
			wantErr: []string{"label certdock.secrets.uid: has no effect"}},
		{name: "one dir for two certificates", w: svc(map[string]string{"certdock.cert": "a.example.com,b.example.com", "certdock.secrets": "true", "certdock.secrets.dir": "tls"}),
			specs: []string{"a.example.com", "b.example.com"}, want: [][]cert.Delivery{nil, nil},
			wantErr: []string{"service api: label certdock.secrets.dir: 2 certificates (a.example.com, b.example.com) would share one directory"}},
		{name: "dotdot", w: svc(with(map[string]string{"certdock.secrets.dir": "../etc"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil},
			wantErr: []string{`service api: label certdock.secrets.dir: "../etc" must not contain ".."`}},
		{name: "dotdot inside an absolute dir", w: svc(with(map[string]string{"certdock.secrets.dir": "/run/secrets/../../etc"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}, wantErr: []string{`must not contain ".."`}},
		{name: "empty component", w: svc(with(map[string]string{"certdock.secrets.dir": "tls//api"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}, wantErr: []string{"label certdock.secrets.dir: \"tls//api\" has an empty path component"}},
		{name: "trailing slash", w: svc(with(map[string]string{"certdock.secrets.dir": "/etc/tls/"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}, wantErr: []string{"empty path component"}},
		{name: "not clean", w: svc(with(map[string]string{"certdock.secrets.dir": "./tls/./api"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}, wantErr: []string{`"./tls/./api" is not a clean path: write "tls/api"`}},
		{name: "empty dir", w: svc(with(map[string]string{"certdock.secrets.dir": " "})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}, wantErr: []string{"label certdock.secrets.dir: empty"}},
		{name: "root dir", w: svc(with(map[string]string{"certdock.secrets.dir": "/"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}, wantErr: []string{"label certdock.secrets.dir: the root directory"}},
		{name: "backslash", w: svc(with(map[string]string{"certdock.secrets.dir": `tls\api`})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}, wantErr: []string{"backslash"}},
		{name: "control character", w: svc(with(map[string]string{"certdock.secrets.dir": "tls\napi"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}, wantErr: []string{"control character"}},
		{name: "user name", w: svc(with(map[string]string{"certdock.secrets.uid": "nginx"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil},
			wantErr: []string{`service api: label certdock.secrets.uid: "nginx" is not a numeric ID`}},
		{name: "negative gid", w: svc(with(map[string]string{"certdock.secrets.gid": "-1"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}, wantErr: []string{`label certdock.secrets.gid: "-1" is not a numeric ID`}},
		{name: "plus sign", w: svc(with(map[string]string{"certdock.secrets.uid": "+5"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}, wantErr: []string{"not a numeric ID"}},
		{name: "the no-ID value", w: svc(with(map[string]string{"certdock.secrets.uid": "4294967295"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}, wantErr: []string{"not a numeric ID"}},
		{name: "largest ID", w: svc(with(map[string]string{"certdock.secrets.uid": "4294967294"})),
			specs: []string{"api.example.com"},
			want:  [][]cert.Delivery{{{Kind: cert.DeliverSecrets, Service: "api", Dir: "api.example.com", UID: "4294967294", GID: "0", Mode: 0o444, KeyMode: 0o400}}}},
		{name: "mode not octal", w: svc(with(map[string]string{"certdock.secrets.mode": "0489"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil},
			wantErr: []string{`service api: label certdock.secrets.mode: "0489" is not an octal mode`}},
		{name: "symbolic mode", w: svc(with(map[string]string{"certdock.secrets.mode": "u=r"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}, wantErr: []string{"is not an octal mode"}},
		{name: "setuid bit", w: svc(with(map[string]string{"certdock.secrets.mode": "4755"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil}, wantErr: []string{`"4755": only permission bits`}},
		{name: "every bad option reported", w: svc(with(map[string]string{"certdock.secrets.dir": "a/../b", "certdock.secrets.uid": "x", "certdock.secrets.gid": "y", "certdock.secrets.mode": "z"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{nil},
			wantErr: []string{"certdock.secrets.dir", "certdock.secrets.uid", "certdock.secrets.gid", "certdock.secrets.mode"}},
		{name: "unknown secrets option", w: svc(with(map[string]string{"certdock.secrets.owner": "1"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{{def("api.example.com")}},
			wantErr: []string{"label certdock.secrets.owner: unknown label"}},
		{name: "other tools' dotted keys left alone", w: svc(with(map[string]string{"certdock.x.y": "1"})),
			specs: []string{"api.example.com"}, want: [][]cert.Delivery{{def("api.example.com")}}},
		{name: "bad domains still skip the whole workload", w: svc(with(map[string]string{"certdock.domains": "a..example.com"})),
			wantErr: []string{"label certdock.domains"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs, problems := Parse("certdock", tt.w, nil)
			if len(problems) != len(tt.wantErr) {
				t.Fatalf("problems %v, want %d", problems, len(tt.wantErr))
			}
			for i, p := range problems {
				var le *Error
				if !errors.As(p, &le) || !strings.Contains(p.Error(), tt.wantErr[i]) {
					t.Errorf("problem %q, want *Error containing %q", p, tt.wantErr[i])
				}
			}
			var names []string
			for _, s := range specs {
				names = append(names, s.Name)
			}
			if !slices.Equal(names, tt.specs) {
				t.Fatalf("specs %q, want %q", names, tt.specs)
			}
			for i, s := range specs {
				if !slices.Equal(s.Deliveries, tt.want[i]) {
					t.Errorf("spec %s: deliveries %+v, want %+v", s.Name, s.Deliveries, tt.want[i])
				}
			}
		})
	}
}

// The prefix is honoured for the secrets keys, and errors name the
// prefixed label.
func TestParseDeliveryPrefix(t *testing.T) {
	w := Workload{Kind: Service, Name: "api", Labels: map[string]string{
		"acme.domains": "api.example.com", "acme.secrets": "true", "acme.secrets.uid": "x", "certdock.secrets": "true"}}
	specs, problems := Parse("acme", w, nil)
	if len(specs) != 1 || len(specs[0].Deliveries) != 0 {
		t.Fatalf("specs %+v, want one without a delivery", specs)
	}
	if len(problems) != 1 || !strings.HasPrefix(problems[0].Error(), "service api: label acme.secrets.uid:") {
		t.Fatalf("problems %v", problems)
	}
}

// One service with a bad option loses its delivery; the others keep theirs.
func TestBadDeliverySkipsOnlyThatService(t *testing.T) {
	ws := []Workload{
		{Kind: Service, Name: "a", Labels: map[string]string{"certdock.domains": "a.example.com", "certdock.secrets": "true"}},
		{Kind: Service, Name: "b", Labels: map[string]string{"certdock.domains": "b.example.com", "certdock.secrets": "true", "certdock.secrets.mode": "999"}},
		{Kind: Service, Name: "c", Labels: map[string]string{"certdock.cert": "a.example.com", "certdock.secrets": "true", "certdock.secrets.gid": "33"}},
	}
	var got []string
	for _, w := range ws {
		specs, _ := Parse("certdock", w, nil)
		for _, s := range specs {
			got = append(got, s.Name+":"+strconv.Itoa(len(s.Deliveries)))
		}
	}
	if want := []string{"a.example.com:1", "b.example.com:0", "a.example.com:1"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    fs.FileMode
		wantErr bool
	}{
		{in: "0440", want: 0o440}, {in: "440", want: 0o440}, {in: "0777", want: 0o777}, {in: "0", want: 0},
		{in: "00000400", want: 0o400},
		{in: "1777", wantErr: true}, {in: "0o440", wantErr: true}, {in: "", wantErr: true}, {in: "-400", wantErr: true},
		{in: "8", wantErr: true}, {in: "99999999999999999999999", wantErr: true}, {in: "77777777777777777777777", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseMode(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseMode(%q) = %04o, %v", tt.in, got, err)
			}
		})
	}
}

// checkDelivery asserts what every delivery Parse returns must satisfy.
func checkDelivery(t *testing.T, d cert.Delivery, workload string) {
	t.Helper()
	if d.Kind != cert.DeliverSecrets || d.Service != workload {
		t.Fatalf("delivery %+v to another workload than %s", d, workload)
	}
	if d.Dir == "" || d.Dir == "/" || path.Clean(d.Dir) != d.Dir || strings.HasPrefix(d.Dir, "../") || d.Dir == ".." || strings.Contains(d.Dir, "/../") || strings.HasSuffix(d.Dir, "/..") {
		t.Fatalf("unsafe directory %q", d.Dir)
	}
	if d.Mode > 0o777 || d.KeyMode > 0o777 {
		t.Fatalf("modes %v %v beyond permission bits", d.Mode, d.KeyMode)
	}
	for _, id := range []string{d.UID, d.GID} {
		if n, err := strconv.ParseUint(id, 10, 32); err != nil || strconv.FormatUint(n, 10) != id {
			t.Fatalf("ID %q not canonical decimal", id)
		}
	}
}
