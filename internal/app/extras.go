package app

import (
	"slices"
	"strings"
	"sync"

	"github.com/certdock/certdock/dnsrobocert"
)

// certExtras are the per-certificate settings of dnsrobocert's config.yml
// — deploy_hook, pfx, reuse_key — which certdock's other sources set for
// every certificate at once (DEPLOY_HOOK, PFX_EXPORT, ACME_REUSE_KEY).
// The dnsrobocert source replaces them at every pass that applies a
// file; the deployer and the issuer read them. Safe for concurrent use;
// a nil *certExtras has none.
type certExtras struct {
	mu sync.RWMutex
	m  map[string]certExtra
}

// certExtra is one certificate's settings.
type certExtra struct {
	deployHook string
	pfx        *dnsrobocert.PFX
	reuseKey   bool
	// env is what dnsrobocert gives its deploy hook:
	// DNSROBOCERT_CERTIFICATE_NAME, _DOMAINS, _PROFILE.
	env []string
}

// set replaces the settings with those of c's certificates.
func (e *certExtras) set(c *dnsrobocert.Config) {
	if e == nil {
		return
	}
	m := map[string]certExtra{}
	for _, ct := range c.Certificates {
		m[ct.Lineage()] = certExtra{
			deployHook: ct.DeployHook,
			pfx:        ct.PFX,
			reuseKey:   ct.ReuseKey,
			env: []string{
				"DNSROBOCERT_CERTIFICATE_NAME=" + ct.Lineage(),
				"DNSROBOCERT_CERTIFICATE_DOMAINS=" + strings.Join(slices.Clone(ct.Domains), ","),
				"DNSROBOCERT_CERTIFICATE_PROFILE=" + ct.Profile,
			},
		}
	}
	e.mu.Lock()
	e.m = m
	e.mu.Unlock()
}

// get returns the settings of the certificate called name.
func (e *certExtras) get(name string) (certExtra, bool) {
	if e == nil {
		return certExtra{}, false
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	x, ok := e.m[name]
	return x, ok
}
