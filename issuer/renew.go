package issuer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"

	"github.com/certdock/certdock/cert"
)

// Renew obtains a new certificate for spec that replaces old, the current
// certificate of the lineage (nil when unknown).
//
// When the CA offers ARI, the order names old's ARI certificate ID in its
// "replaces" field (RFC 9773 §5), which lets the CA relate the two (Let's
// Encrypt exempts such renewals from some rate limits). The hint never
// blocks a renewal: when the CA refuses it (old already replaced, unknown
// to the CA, another account's), the order is placed once more without
// it. meta.ReplaceID is the ID the CA accepted, empty when none.
//
// With reuseKey (ACME_REUSE_KEY) the new certificate keeps the private key
// in oldKeyPEM when it parses, belongs to old and has the wanted key type
// (spec.KeyType, else the configured default); otherwise, and always when
// reuseKey is false, a new key is generated. Why a key was not reused is
// logged. Errors are *Error, as for Issue.
func (i *Issuer) Renew(ctx context.Context, spec cert.Spec, old *x509.Certificate, oldKeyPEM []byte, reuseKey bool) (cert.Bundle, cert.IssueMeta, error) {
	return i.obtain(ctx, spec, &replacement{old: old, keyPEM: oldKeyPEM, reuseKey: reuseKey})
}

// replacement is what Renew knows of the certificate being replaced.
type replacement struct {
	old      *x509.Certificate
	keyPEM   []byte
	reuseKey bool
}

// replacesID returns old's ARI certificate ID when the CA offers ARI (an
// order's "replaces" is meaningless otherwise), else "".
func (i *Issuer) replacesID(old *x509.Certificate) string {
	if old == nil {
		return ""
	}
	core, err := i.directoryCore()
	if err != nil || core.GetDirectory().RenewalInfo == "" {
		return ""
	}
	id, err := ariCertID(old)
	if err != nil {
		i.log.Warn("renewal: no ARI identifier for the previous certificate; ordering without replacing it", "err", err)
		return ""
	}
	return id
}

// reusableKey returns the previous private key when it may be reused for a
// key of type want, else nil (lego then generates one).
func (i *Issuer) reusableKey(name string, rep *replacement, want certcrypto.KeyType) crypto.Signer {
	if !rep.reuseKey {
		return nil
	}
	key, why := keyForReuse(rep.keyPEM, rep.old, want)
	if key == nil {
		i.log.Warn("ACME_REUSE_KEY: generating a new private key", "cert", name, "reason", why)
	}
	return key
}

// keyForReuse parses keyPEM and checks it may serve a certificate with key
// type want replacing old; it returns the key, or nil and why not.
func keyForReuse(keyPEM []byte, old *x509.Certificate, want certcrypto.KeyType) (crypto.Signer, string) {
	if len(bytes.TrimSpace(keyPEM)) == 0 {
		return nil, "no previous private key"
	}
	key, err := certcrypto.ParsePEMPrivateKey(keyPEM)
	if err != nil {
		return nil, "the previous private key does not parse: " + err.Error()
	}
	have, err := certcrypto.GetPrivateKeyType(key)
	if err != nil {
		return nil, "the previous private key has an unsupported type: " + err.Error()
	}
	if have != want {
		return nil, "the key type changed from " + string(have) + " to " + string(want)
	}
	if old != nil {
		pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !pub.Equal(old.PublicKey) {
			return nil, "the previous private key does not belong to the previous certificate"
		}
	}
	return key, ""
}

// obtainReplacing runs Obtain and, when the order names a certificate it
// replaces and the CA refuses that, runs it once more without. It returns
// the replaces ID the CA accepted ("" when none).
func (i *Issuer) obtainReplacing(ctx context.Context, certifier *certificate.Certifier, name string, oreq certificate.ObtainRequest) (*certificate.Resource, string, error) {
	if oreq.ReplacesCertID == "" {
		res, err := certifier.Obtain(ctx, oreq)
		return res, "", err
	}
	w := &replaceWatch{}
	res, err := certifier.Obtain(context.WithValue(ctx, replaceWatchKey{}, w), oreq)
	if err != nil && i.replacesRefused(err) {
		i.log.Warn("renewal: the CA refused to relate the new order to the previous certificate; ordering without it",
			"cert", name, "replaces", oreq.ReplacesCertID, "err", err)
		oreq.ReplacesCertID = ""
		res, err = certifier.Obtain(ctx, oreq)
		return res, "", err
	}
	if err != nil {
		return nil, "", err
	}
	if w.alreadyReplaced.Load() {
		// lego v5 re-sends the new-order request without "replaces" by
		// itself when the CA answers alreadyReplaced; only the watch sees it.
		i.log.Info("renewal: the previous certificate was already replaced; the new one was ordered without replacing it",
			"cert", name, "replaces", oreq.ReplacesCertID)
		return res, "", nil
	}
	return res, oreq.ReplacesCertID, nil
}

// replacesRefused reports whether err is the CA refusing a new-order
// request that named a replaced certificate, for a reason that may be the
// "replaces" field: alreadyReplaced, or any problem on the new-order URL
// other than rate limits, nonces and identifier refusals. Pebble answers
// malformed for a certificate of an issuer it does not know (e.g. after a
// restart), serverInternal for an unknown serial and unauthorized for
// another account's certificate.
func (i *Issuer) replacesRefused(err error) bool {
	var are *acme.AlreadyReplacedError
	if errors.As(err, &are) {
		return true
	}
	var pd *acme.ProblemDetails
	if !errors.As(err, &pd) {
		return false
	}
	switch pd.Type {
	case acme.RateLimitedErrorType, acme.BadNonceErrorType, acme.RejectedIdentifierErrorType,
		acme.UnsupportedIdentifierErrorType, acme.CaaErrorType, acme.InvalidProfileErrorType,
		acme.UserActionRequiredErrorType, acme.ExternalAccountRequiredErrorType:
		return false
	}
	core, cerr := i.directoryCore()
	if cerr != nil {
		return false
	}
	return pd.Method == http.MethodPost && pd.URL != "" && pd.URL == core.GetDirectory().NewOrderURL
}

// replaceWatchKey is the context key of a *replaceWatch.
type replaceWatchKey struct{}

// replaceWatch records that the CA answered alreadyReplaced to a request
// made with its context.
type replaceWatch struct{ alreadyReplaced atomic.Bool }

// maxPeek bounds how much of a 409 response body watchTransport reads.
const maxPeek = 64 << 10

// watchTransport lets a replaceWatch in a request's context see
// alreadyReplaced answers, which lego v5 handles silently. Responses pass
// through unchanged.
type watchTransport struct{ base http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t watchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	w, _ := req.Context().Value(replaceWatchKey{}).(*replaceWatch)
	if w == nil || err != nil || resp.StatusCode != http.StatusConflict || req.Method != http.MethodPost {
		return resp, err
	}
	orig := resp.Body
	peek, _ := io.ReadAll(io.LimitReader(orig, maxPeek))
	if bytes.Contains(peek, []byte(acme.AlreadyReplacedErrorType)) {
		w.alreadyReplaced.Store(true)
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(peek), orig), orig}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// wrapped transport.
func (t watchTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
