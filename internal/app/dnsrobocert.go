package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/dnsrobocert"
)

// DnsrobocertSource reads dnsrobocert's config.yml on every pass (${VAR}
// from the environment through lookup) and serves its certificates. As
// dnsrobocert does, an invalid file — or one in draft mode — does not
// replace the last valid one: its certificates keep being served, the
// problems are reported, and nothing is removed. Its profiles are read at
// start-up (see dnsrobocert.Config.DNSProfiles); a certificate naming a
// profile added since is reported until certdock restarts.
func DnsrobocertSource(path string, lookup func(string) (string, bool), log *slog.Logger) controller.Source {
	return &dnsroboSource{path: path, lookup: lookup, log: log}
}

// dnsrobocertSource is DnsrobocertSource keeping the per-certificate
// settings (deploy_hook, pfx, reuse_key) of each applied file in extras.
func dnsrobocertSource(path string, lookup func(string) (string, bool), log *slog.Logger, extras *certExtras) controller.Source {
	return &dnsroboSource{path: path, lookup: lookup, log: log, extras: extras}
}

type dnsroboSource struct {
	path   string
	lookup func(string) (string, bool)
	log    *slog.Logger
	extras *certExtras // nil: not kept

	mu      sync.Mutex
	applied []cert.Spec // the certificates of the last valid, non-draft file
	draft   bool        // the last read was a valid draft (logged once)
	digest  [sha256.Size]byte
	forced  []string // force_renew certificates of a newly applied file
}

// Forced implements controller.Forcer: the certificates with force_renew
// of a file applied since the last call — the first one read, and each
// changed one — as dnsrobocert passes --force-renew to certbot each time
// it processes its file.
func (d *dnsroboSource) Forced() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.forced
	d.forced = nil
	return out
}

// Desired implements controller.Source.
func (d *dnsroboSource) Desired(context.Context) ([]cert.Spec, []error, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	data, err := os.ReadFile(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return slices.Clip(d.applied), []error{fmt.Errorf("%s: dnsrobocert configuration missing (%w)", d.path, controller.ErrSourceUnavailable)}, false
	}
	if err != nil {
		return slices.Clip(d.applied), []error{fmt.Errorf("%s: %w (%w)", d.path, err, controller.ErrSourceUnavailable)}, false
	}
	c, err := dnsrobocert.Read(d.path, data, d.lookup)
	if err != nil {
		return slices.Clip(d.applied), []error{err}, false
	}
	if c.Draft {
		if !d.draft {
			d.log.Warn("dnsrobocert configuration in draft mode: validated, not applied", "file", d.path)
		}
		d.draft = true
		return slices.Clip(d.applied), nil, false
	}
	d.draft = false
	specs, problems := c.Specs()
	d.applied = specs
	d.extras.set(c)
	if sum := sha256.Sum256(data); sum != d.digest {
		d.digest = sum
		d.forced = nil
		for _, ct := range c.Certificates {
			if ct.ForceRenew {
				d.forced = append(d.forced, ct.Lineage())
			}
		}
	}
	// Complete when every certificate of the file is served: a problem
	// with a setting (podman_containers) does not hold back
	// removals, a certificate left out does.
	return slices.Clip(specs), problems, len(specs) == len(c.Certificates)
}
