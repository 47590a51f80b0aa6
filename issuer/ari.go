package issuer

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/acme/api"
	"github.com/go-acme/lego/v5/certificate"
)

// ErrNoARI is returned by RenewalWindow when the CA does not offer ACME
// Renewal Information (RFC 9773): its directory has no renewalInfo URL.
// The caller then schedules renewals by the certificate's lifetime alone.
var ErrNoARI = errors.New("issuer: the CA offers no renewal information (ARI, RFC 9773): its directory has no renewalInfo endpoint")

// Window is the CA's suggested renewal window for one certificate (an ARI
// RenewalInfo object, RFC 9773 §4.2).
type Window struct {
	// Start and End bound the period in which the CA suggests renewing.
	// A window already in the past means "renew now" (e.g. after a
	// revocation or an incident).
	Start, End time.Time
	// RetryAfter is how long the CA asks clients to wait before asking
	// again (its Retry-After header); zero when it sent none.
	RetryAfter time.Duration
	// ExplanationURL optionally points to a page explaining the window;
	// it should be shown to the operator when set.
	ExplanationURL string
}

// RenewAt picks when to renew following RFC 9773 §4.2 (lego's
// RenewalInfo.ShouldRenewAt): a uniformly random instant in the window, or
// now when that instant has passed. ok is false when the instant lies
// beyond now+willingToSleep: ask the CA again later instead of waiting.
func (w Window) RenewAt(now time.Time, willingToSleep time.Duration) (at time.Time, ok bool) {
	ri := certificate.RenewalInfo{ExtendedRenewalInfo: &acme.ExtendedRenewalInfo{
		RenewalInfo: acme.RenewalInfo{SuggestedWindow: acme.Window{Start: w.Start, End: w.End}},
	}}
	t := ri.ShouldRenewAt(now, willingToSleep)
	if t == nil {
		return time.Time{}, false
	}
	return *t, true
}

// ARICertID returns the RFC 9773 certificate identifier of leaf
// (base64url(AuthorityKeyIdentifier) "." base64url(serial DER)), as used
// in renewalInfo URLs and in an order's "replaces" field. It needs no CA.
func (i *Issuer) ARICertID(leaf *x509.Certificate) (string, error) {
	return ariCertID(leaf)
}

func ariCertID(leaf *x509.Certificate) (string, error) {
	if leaf == nil {
		return "", errors.New("issuer: ARI certificate ID: no certificate")
	}
	if len(leaf.AuthorityKeyId) == 0 {
		return "", errors.New("issuer: ARI certificate ID: the certificate has no Authority Key Identifier")
	}
	if leaf.SerialNumber == nil || leaf.SerialNumber.Sign() <= 0 {
		return "", errors.New("issuer: ARI certificate ID: the certificate has no positive serial number")
	}
	return api.MakeARICertID(leaf)
}

// RenewalWindow asks the CA for its suggested renewal window for leaf
// (ARI, RFC 9773). It returns ErrNoARI when the CA does not offer ARI. It
// needs no ACME account: before one exists it only reads the directory.
// Other errors are *Error, classified like Issue's.
func (i *Issuer) RenewalWindow(ctx context.Context, leaf *x509.Certificate) (Window, error) {
	id, err := ariCertID(leaf)
	if err != nil {
		return Window{}, &Error{Kind: KindConfig, Err: err}
	}
	core, err := i.directoryCore()
	if err != nil {
		return Window{}, classify(i.hint(err))
	}
	info, err := core.Certificates.GetRenewalInfo(ctx, id)
	if errors.Is(err, api.ErrNoARI) {
		return Window{}, ErrNoARI
	}
	if err != nil {
		return Window{}, classify(i.hint(fmt.Errorf("renewal information for %s: %w", id, err)))
	}
	return windowOf(info)
}

// windowOf converts and checks lego's answer.
func windowOf(info *acme.ExtendedRenewalInfo) (Window, error) {
	w := Window{
		Start:          info.SuggestedWindow.Start,
		End:            info.SuggestedWindow.End,
		RetryAfter:     info.RetryAfter,
		ExplanationURL: info.ExplanationURL,
	}
	if w.Start.IsZero() || w.End.IsZero() || !w.Start.Before(w.End) {
		// RFC 9773 §4.2: a window whose end does not follow its start is
		// invalid; the client must ignore it.
		return Window{}, &Error{Kind: KindRetry, RetryAfter: w.RetryAfter,
			Err: fmt.Errorf("the CA sent an invalid renewal window (%s to %s)", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))}
	}
	return w, nil
}

// directoryCore returns the account's ACME core when set up, else a core
// that has only read the directory (enough for ARI, which is unsigned).
func (i *Issuer) directoryCore() (*api.Core, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.core != nil {
		return i.core, nil
	}
	if i.dirCore != nil {
		return i.dirCore, nil
	}
	core, err := api.New(i.httpClient(), i.cfg.UserAgent, i.cfg.DirectoryURL, "", nil)
	if err != nil {
		return nil, fmt.Errorf("ACME directory %s: %w", i.cfg.DirectoryURL, err)
	}
	i.dirCore = core
	return core, nil
}
