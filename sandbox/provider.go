package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Provider is a DNS-01 challenge provider that publishes TXT records in the
// sandbox's in-process DNS server. Its Present, CleanUp and Timeout methods
// have the shapes of lego's challenge.Provider and
// challenge.ProviderTimeout interfaces, so the issuer can use it like any
// other DNS provider without this package importing lego.
//
// A Provider is obtained from [Env]; it is safe for concurrent use. Records
// live only in memory and disappear with the process.
type Provider struct {
	store *txtStore
	log   *slog.Logger
}

// challengeRecord returns the owner name and value of the DNS-01 TXT record
// for domain (RFC 8555 section 8.4): _acme-challenge.<domain>. with the
// unpadded base64url SHA-256 digest of keyAuth. A leading "*." is dropped, since
// a wildcard is validated at its base name.
func challengeRecord(domain, keyAuth string) (name, value string, err error) {
	d := strings.TrimSuffix(strings.TrimSpace(domain), ".")
	d = strings.TrimPrefix(d, "*.")
	if d == "" || strings.HasPrefix(d, ".") || strings.Contains(d, "..") {
		return "", "", fmt.Errorf("sandbox provider: invalid domain %q", domain)
	}
	if keyAuth == "" {
		return "", "", errors.New("sandbox provider: empty key authorization")
	}
	sum := sha256.Sum256([]byte(keyAuth))
	return canonicalName("_acme-challenge." + d), base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// Present publishes the DNS-01 TXT record for domain: at
// _acme-challenge.<domain without a leading "*.">. it adds the value
// base64url(SHA-256(keyAuth)) without padding. Other values already at that
// name (another challenge for the same base name, e.g. example.com and
// *.example.com in one order) are kept. The record is visible to queries as
// soon as Present returns. token is not used by DNS-01.
func (p *Provider) Present(ctx context.Context, domain, token, keyAuth string) error {
	if err := p.usable(ctx); err != nil {
		return err
	}
	name, value, err := challengeRecord(domain, keyAuth)
	if err != nil {
		return err
	}
	p.store.add(name, value)
	p.log.Debug("sandbox dns: TXT record presented", "name", name, "value", value)
	return nil
}

// CleanUp removes the TXT record Present published for the same domain and
// keyAuth; values published by other challenges at the same name stay. It
// is not an error to clean up a record that is not there (a repeated or
// out-of-order CleanUp), since the end state is the one asked for.
func (p *Provider) CleanUp(ctx context.Context, domain, token, keyAuth string) error {
	if err := p.usable(ctx); err != nil {
		return err
	}
	name, value, err := challengeRecord(domain, keyAuth)
	if err != nil {
		return err
	}
	if p.store.remove(name, value) {
		p.log.Debug("sandbox dns: TXT record removed", "name", name, "value", value)
	}
	return nil
}

// Timeout returns how long an ACME client should wait for a presented record
// to become visible, and how often it should check. Records are visible
// immediately, so the values are short: 10 s and 50 ms.
func (p *Provider) Timeout() (timeout, interval time.Duration) {
	return 10 * time.Second, 50 * time.Millisecond
}

func (p *Provider) usable(ctx context.Context) error {
	if p == nil || p.store == nil {
		return errors.New("sandbox provider: not obtained from sandbox.Start")
	}
	return ctx.Err()
}
