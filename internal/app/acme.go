package app

import (
	"context"
	"crypto/x509"
	"errors"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/issuer"
	"github.com/certdock/certdock/store"
)

// acmeIssuer is the controller's Issuer: lego's issuer, renewing through
// Renew (ARI ReplacesCertID, ACME_REUSE_KEY with the key read through the
// store) and revoking removed certificates.
type acmeIssuer struct {
	iss      *issuer.Issuer
	store    *store.Dir
	reuseKey bool
	// extras give dnsrobocert's per-certificate reuse_key.
	extras *certExtras
}

var _ controller.Issuer = acmeIssuer{}

// Server implements controller.Issuer.
func (a acmeIssuer) Server() string { return a.iss.Server() }

// Issue implements controller.Issuer.
func (a acmeIssuer) Issue(ctx context.Context, spec cert.Spec, cur *cert.Lineage) (cert.Bundle, cert.IssueMeta, error) {
	b, meta, err := a.issue(ctx, spec, cur)
	return b, meta, waitingFrom(err)
}

// issue is Issue before the error of a missing dns-persist-01 record
// becomes the controller's WaitingError.
func (a acmeIssuer) issue(ctx context.Context, spec cert.Spec, cur *cert.Lineage) (cert.Bundle, cert.IssueMeta, error) {
	if cur == nil {
		return a.iss.Issue(ctx, spec)
	}
	var keyPEM []byte
	reuse := a.reuseKey
	if x, ok := a.extras.get(spec.Name); ok && x.reuseKey {
		reuse = true
	}
	if reuse {
		if key, err := a.store.PrivateKey(spec.Name); err == nil {
			keyPEM = key
		}
	}
	return a.iss.Renew(ctx, spec, cur.Leaf, keyPEM, reuse && keyPEM != nil)
}

// Revoke implements controller.Issuer.
func (a acmeIssuer) Revoke(ctx context.Context, certPEM []byte) error {
	return a.iss.Revoke(ctx, certPEM)
}

// RenewalWindow implements controller.Issuer.
func (a acmeIssuer) RenewalWindow(ctx context.Context, leaf *x509.Certificate) (controller.Window, error) {
	w, err := a.iss.RenewalWindow(ctx, leaf)
	if errors.Is(err, issuer.ErrNoARI) {
		return controller.Window{}, controller.ErrNoWindow
	}
	if err != nil {
		return controller.Window{}, err
	}
	return controller.Window{Start: w.Start, End: w.End, RetryAfter: w.RetryAfter}, nil
}
