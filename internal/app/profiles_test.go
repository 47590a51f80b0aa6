package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/dnsprofile"
	"github.com/certdock/certdock/labels"
)

func TestRouteProfiles(t *testing.T) {
	set, problems := dnsprofile.NewSet([]dnsprofile.Profile{
		{Name: "a", Zones: []string{"a.test"}},
		{Name: "b", Zones: []string{"b.test"}},
	})
	if len(problems) != 0 {
		t.Fatal(problems)
	}
	file := func(line int, domains ...string) cert.Spec {
		return cert.Spec{Name: domains[0], Domains: domains, Source: cert.Source{Kind: cert.FromFile, File: "domains.conf", Line: line}}
	}
	label := func(profile string, domains ...string) cert.Spec {
		return cert.Spec{Name: domains[0], Domains: domains, DNSProfile: profile, Source: cert.Source{Kind: cert.FromLabel, Workload: "container web"}}
	}
	src := controller.SourceFunc(func(context.Context) ([]cert.Spec, []error) {
		return []cert.Spec{
			file(1, "x.a.test"),
			file(2, "x.b.test", "*.b.test"),
			file(3, "other.test"),
			file(4, "x.a.test", "x.b.test"),
			label("b", "www.a.test"),
			label("nope", "www.other.test"),
			{Name: "x.a.test", Source: cert.Source{Kind: cert.FromLabel, Workload: "container sub"}},
		}, nil
	})
	specs, problems, complete := RouteProfiles(src, set, "certdock").Desired(context.Background())
	got := map[string]string{}
	for _, s := range specs {
		got[s.Source.String()+" "+s.Name] = s.DNSProfile
	}
	want := map[string]string{
		"domains.conf:1 x.a.test":           "a",
		"domains.conf:2 x.b.test":           "b",
		"domains.conf:3 other.test":         "",
		"workload container web www.a.test": "b",
		"workload container sub x.a.test":   "",
	}
	if len(got) != len(want) {
		t.Errorf("specs %v, want %v", got, want)
	}
	for k, v := range want {
		if p, ok := got[k]; !ok || p != v {
			t.Errorf("%s: profile %q (present %t), want %q", k, p, ok, v)
		}
	}
	if complete {
		t.Error("a source with a left-out certificate counts as complete")
	}
	if len(problems) != 2 {
		t.Fatalf("problems %v", problems)
	}
	var le *config.LineError
	if !errors.As(problems[0], &le) || le.Line != 4 || !strings.Contains(le.Error(), "domains.conf:4: names fall to different DNS profiles") {
		t.Errorf("line problem: %v", problems[0])
	}
	var lerr *labels.Error
	if !errors.As(problems[1], &lerr) || lerr.Label != "certdock.profile" ||
		lerr.Error() != `container web: label certdock.profile: unknown DNS profile "nope" (known: a, b)` {
		t.Errorf("label problem: %v", problems[1])
	}
}
