package issuer

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certcrypto"
)

// RevocationReason is the CRLReason (RFC 5280 §5.3.1) Revoke sends:
// cessationOfOperation (5). certdock revokes certificates that are no
// longer used (a removed lineage, a decommissioned name), never because a
// key leaked; that is what cessationOfOperation means, and it is one of
// the reasons Let's Encrypt accepts from subscribers.
const RevocationReason = acme.CRLReasonCessationOfOperation

// Revoke asks the CA to revoke the certificate in certPEM (the leaf first;
// any chain after it is ignored), signed by this issuer's account, which
// must be the one that obtained it. The reason is RevocationReason; a CA
// that refuses it (badRevocationReason) is asked once more without a
// reason, which means unspecified (0). A certificate the CA reports as
// already revoked counts as revoked: Revoke returns nil.
//
// Errors are *Error, classified like Issue's; in addition a request the CA
// refuses outright (a 4xx answer such as unauthorized — another account's
// certificate — or malformed — a certificate it does not know) is
// KindRejected, and certPEM without a leaf certificate is KindConfig.
func (i *Issuer) Revoke(ctx context.Context, certPEM []byte) error {
	certs, err := certcrypto.ParsePEMBundle(certPEM)
	if err != nil || len(certs) == 0 {
		if err == nil {
			err = errors.New("no certificate")
		}
		return &Error{Kind: KindConfig, Err: fmt.Errorf("revoke: %w", err)}
	}
	if certs[0].IsCA {
		return &Error{Kind: KindConfig, Err: errors.New("revoke: the PEM starts with a CA certificate, not a leaf")}
	}
	certifier, _, err := i.setup(ctx)
	if err != nil {
		return classify(i.hint(err))
	}
	err = revokeWith(ctx, certifier, certPEM)
	if err == nil {
		i.log.Info("certificate revoked", "serial", certs[0].SerialNumber.Text(16), "domains", certs[0].DNSNames)
		return nil
	}
	if problemType(err) == acme.AlreadyRevokedErrorType {
		i.log.Info("certificate already revoked", "serial", certs[0].SerialNumber.Text(16), "domains", certs[0].DNSNames)
		return nil
	}
	return classifyRevoke(i.hint(fmt.Errorf("revoke certificate %s: %w", certs[0].SerialNumber.Text(16), err)))
}

// revoker is the part of lego's Certifier that Revoke uses.
type revoker interface {
	RevokeWithReason(ctx context.Context, cert []byte, reason *uint) error
}

// revokeWith sends the revocation with RevocationReason, and without a
// reason when the CA refuses that one.
func revokeWith(ctx context.Context, r revoker, certPEM []byte) error {
	reason := RevocationReason
	err := r.RevokeWithReason(ctx, certPEM, &reason)
	if problemType(err) == acme.BadRevocationReasonErrorType {
		err = r.RevokeWithReason(ctx, certPEM, nil)
	}
	return err
}

// classifyRevoke is classify, with the CA's 4xx refusals (other than rate
// limits) made KindRejected: asking again changes nothing.
func classifyRevoke(err error) error {
	var pd *acme.ProblemDetails
	var rl *acme.RateLimitedError
	if errors.As(err, &pd) && !errors.As(err, &rl) && pd.HTTPStatus >= 400 && pd.HTTPStatus < 500 &&
		pd.Type != acme.BadNonceErrorType && pd.Type != acme.RateLimitedErrorType {
		return &Error{Kind: KindRejected, Err: err}
	}
	return classify(err)
}

// problemType returns the ACME problem type in err's chain, or "".
func problemType(err error) string {
	var pd *acme.ProblemDetails
	if errors.As(err, &pd) {
		return pd.Type
	}
	return ""
}
