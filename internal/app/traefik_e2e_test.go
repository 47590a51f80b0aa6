package app_test

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/internal/app"
	"github.com/certdock/certdock/internal/testenv"
)

// TestTraefikLabelsEndToEnd: real containers carrying Traefik labels, with
// CERTDOCK_TRAEFIK_LABELS=true, get their TLS routers' certificates from
// real Pebble; certdock's own label on the same container adds its
// action; routers without TLS, HostRegexp, traefik.enable=false and names
// outside CERTDOCK_ALLOWED_DOMAINS get nothing; a rule that does not parse
// is reported naming the container and the label, and the container's
// other router is still served.
func TestTraefikLabelsEndToEnd(t *testing.T) {
	testenv.RequireDocker(t)
	w := newWorld(t, "example.com", "example.org")
	w.env["CERTDOCK_TRAEFIK_LABELS"] = "true"
	w.env["CERTDOCK_ALLOWED_DOMAINS"] = "*.example.com"
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
	name := func(s string) string { return "cd-traefik-" + s + "-" + suffix }

	runContainer(t, name("web"), map[string]string{
		"traefik.enable":                            "true",
		"traefik.http.routers.web.rule":             "Host(`web.example.com`) || Host(`www.example.com`)",
		"traefik.http.routers.web.tls.certresolver": "le",
		"traefik.http.routers.web.entrypoints":      "websecure",
		"certdock.exec":                             "touch /tmp/reloaded",
	}, idleScript)
	runContainer(t, name("v2"), map[string]string{
		"traefik.http.routers.v2.rule": "Host(`a.example.com`, `b.example.com`) && PathPrefix(`/`)",
		"traefik.http.routers.v2.tls":  "true",
	}, idleScript)
	runContainer(t, name("tcp"), map[string]string{
		"traefik.tcp.routers.pg.rule":                "HostSNI(`db.example.com`)",
		"traefik.tcp.routers.pg.tls.domains[0].main": "db.example.com",
		"traefik.tcp.routers.pg.tls.domains[0].sans": "db2.example.com",
	}, idleScript)
	runContainer(t, name("ignored"), map[string]string{
		"traefik.http.routers.plain.rule": "Host(`plain.example.com`)",
		"traefik.http.routers.re.rule":    "HostRegexp(`^.+\\.example\\.com$`)",
		"traefik.http.routers.re.tls":     "true",
	}, idleScript)
	runContainer(t, name("off"), map[string]string{
		"traefik.enable":                "false",
		"traefik.http.routers.off.rule": "Host(`off.example.com`)",
		"traefik.http.routers.off.tls":  "true",
	}, idleScript)
	runContainer(t, name("bad"), map[string]string{
		"traefik.http.routers.bad.rule":  "Host(`bad.example.com`",
		"traefik.http.routers.bad.tls":   "true",
		"traefik.http.routers.good.rule": "Host(`good.example.com`)",
		"traefik.http.routers.good.tls":  "true",
	}, idleScript)
	runContainer(t, name("evil"), map[string]string{
		"traefik.http.routers.evil.rule": "Host(`www.example.org`)",
		"traefik.http.routers.evil.tls":  "true",
	}, idleScript)

	cfg, err := config.FromEnv(func(k string) string { return w.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got := app.ExtraLabelPrefixes(cfg); !slices.Equal(got, []string{"traefik"}) {
		t.Fatalf("ExtraLabelPrefixes = %v", got)
	}
	dc, err := docker.New(docker.Options{Host: "unix://" + testenv.DockerSocket(), LabelPrefix: "certdock", ExtraLabelPrefixes: app.ExtraLabelPrefixes(cfg),
		Logger: slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	a := w.buildWith(t, app.Options{Docker: dc})
	serve(t, a)

	eventually(t, 30*time.Second, "the web router's certificate and certdock's exec", func() bool { return existsInContainer(name("web"), "/tmp/reloaded") })
	want := map[string][]string{
		"web.example.com":  {"web.example.com", "www.example.com"},
		"a.example.com":    {"a.example.com", "b.example.com"},
		"db.example.com":   {"db.example.com", "db2.example.com"},
		"good.example.com": {"good.example.com"},
	}
	eventually(t, 30*time.Second, "every TLS router's certificate", func() bool {
		for n := range want {
			if _, err := a.Store.Load(n); err != nil {
				return false
			}
		}
		return true
	})
	roots := w.pebble.Roots(t)
	for n, sans := range want {
		checkLineage(t, w.dir, n, sans, roots, 1)
	}
	for _, n := range []string{"plain.example.com", "off.example.com", "bad.example.com", "www.example.org"} {
		if _, err := a.Store.Load(n); err == nil {
			t.Errorf("%s was issued", n)
		}
	}
	logs := w.logs.String()
	for _, msg := range []string{
		"container " + name("bad") + ": label traefik.http.routers.bad.rule: rule: at character 23: expected , or ) in Host(...) but found end of rule",
		"container " + name("evil") + ": label traefik.http.routers.evil.rule: www.example.org is not allowed by CERTDOCK_ALLOWED_DOMAINS",
	} {
		if !strings.Contains(logs, msg) {
			t.Errorf("logs lack %q", msg)
		}
	}
}

// TestTraefikSwarmServiceEndToEnd: a Swarm service whose service labels
// carry a Traefik TLS router gets its certificate with
// CERTDOCK_TRAEFIK_LABELS=true, and certdock.restart=true on the same
// service force-updates it; a service without TLS gets nothing.
func TestTraefikSwarmServiceEndToEnd(t *testing.T) {
	testenv.RequireSwarm(t)
	image := testenv.BusyboxImage(t)
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
	tlsSvc, plainSvc := "cd-tsvc-"+suffix, "cd-tplain-"+suffix
	for _, s := range []struct {
		name   string
		labels []string
	}{
		{tlsSvc, []string{
			"--label", "traefik.http.routers.app.rule=Host(`tsvc.example.com`) || Host(`www.tsvc.example.com`)",
			"--label", "traefik.http.routers.app.tls.certresolver=le",
			"--label", "certdock.restart=true",
		}},
		{plainSvc, []string{"--label", "traefik.http.routers.app.rule=Host(`tplain.example.com`)"}},
	} {
		createService(t, s.name, image, s.labels...)
	}
	w := newWorld(t, "example.com")
	w.env["DOCKER_CLUSTER_PROVIDER"] = "swarm"
	w.env["CERTDOCK_TRAEFIK_LABELS"] = "true"
	w.env["CERTDOCK_ALLOWED_DOMAINS"] = "*.example.com,*.tsvc.example.com"
	cfg, err := config.FromEnv(func(k string) string { return w.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	dc, err := docker.New(docker.Options{LabelPrefix: "certdock", ExtraLabelPrefixes: app.ExtraLabelPrefixes(cfg),
		Logger: slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	a := w.buildWith(t, app.Options{Docker: dc})
	serve(t, a)
	eventually(t, 60*time.Second, "the Traefik service's certificate and its force-update", func() bool {
		_, err := a.Store.Load("tsvc.example.com")
		s, _ := tryDocker("service", "inspect", "-f", "{{.Spec.TaskTemplate.ForceUpdate}}", tlsSvc)
		return err == nil && s == "1"
	})
	checkLineage(t, w.dir, "tsvc.example.com", []string{"tsvc.example.com", "www.tsvc.example.com"}, w.pebble.Roots(t), 1)
	if _, err := a.Store.Load("tplain.example.com"); err == nil {
		t.Error("a service whose router has no TLS was issued a certificate")
	}
}
