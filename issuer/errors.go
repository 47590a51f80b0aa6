package issuer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-acme/lego/v5/acme"
)

// Kind classifies an issuance failure for the retry policy.
type Kind int

// Failure kinds.
const (
	// KindRetry: transient (network, CA 5xx, DNS); retry with backoff.
	KindRetry Kind = iota
	// KindRateLimited: the CA asked us to wait; RetryAfter says how long.
	KindRateLimited
	// KindConfig: a setting must change first (credentials, key type);
	// retrying soon is pointless.
	KindConfig
	// KindRejected: the CA refused the request itself (e.g. a forbidden
	// identifier); retry only after a long wait.
	KindRejected
)

// Error is returned by Issue, Renew, Revoke and RenewalWindow (except
// ErrNoARI).
type Error struct {
	Kind       Kind
	RetryAfter time.Duration
	Err        error
}

// Error returns the cause's message.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether retrying without a change is pointless.
func (e *Error) Permanent() bool { return e.Kind == KindConfig || e.Kind == KindRejected }

// After returns the server-requested wait, if any.
func (e *Error) After() time.Duration { return e.RetryAfter }

func classify(err error) error {
	var ie *Error
	if errors.As(err, &ie) {
		return err
	}
	var de *delegationError
	if errors.As(err, &de) {
		return &Error{Kind: KindConfig, Err: err}
	}
	var rl *acme.RateLimitedError
	if errors.As(err, &rl) {
		return &Error{Kind: KindRateLimited, RetryAfter: rl.RetryAfter, Err: err}
	}
	var pd *acme.ProblemDetails
	if errors.As(err, &pd) {
		switch {
		case pd.HTTPStatus >= 500:
			return &Error{Kind: KindRetry, Err: err}
		case pd.Type == "urn:ietf:params:acme:error:rejectedIdentifier",
			pd.Type == "urn:ietf:params:acme:error:unsupportedIdentifier",
			pd.Type == "urn:ietf:params:acme:error:caa",
			pd.Type == "urn:ietf:params:acme:error:externalAccountRequired":
			return &Error{Kind: KindRejected, Err: err}
		}
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return &Error{Kind: KindRetry, Err: err}
	}
	return &Error{Kind: KindRetry, Err: err}
}

// hint appends what to fix to errors whose cause is a setting: the TLS
// trust of the CA, the CA's address, the DNS provider's settings.
func (i *Issuer) hint(err error) error { return i.hintProvider(err, i.cfg.ProviderName) }

// hintProvider is hint for an error of an order solved by the DNS
// provider called provider.
func (i *Issuer) hintProvider(err error, provider string) error {
	var (
		unknownCA x509.UnknownAuthorityError
		verify    *tls.CertificateVerificationError
		hostname  x509.HostnameError
	)
	var pd *acme.ProblemDetails
	if errors.As(err, &pd) && pd.Type == acme.InvalidProfileErrorType {
		return &Error{Kind: KindConfig, Err: fmt.Errorf("%w (ACME_PROFILE: the CA offers %s)", err, i.offeredProfiles())}
	}
	// The DNS side is checked before the CA's address: a DNS server that
	// refuses connections (DNSUPDATE_NAMESERVER down) is not the CA.
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &verify), errors.As(err, &hostname):
		return fmt.Errorf("%w (the CA's TLS certificate is not trusted: set ACME_CA_CERTIFICATES to the PEM of the CA that signs it)", err)
	case strings.Contains(err.Error(), "error presenting token"):
		return fmt.Errorf("%w (the DNS provider %q refused the challenge record: check its settings, e.g. %s* variables)", err, provider, providerEnvPrefix(provider))
	case strings.Contains(err.Error(), "dns01: "):
		return err // lego's DNS-01 steps (propagation check): not the CA either
	case errors.Is(err, syscall.ECONNREFUSED), isDNSNotFound(err):
		return fmt.Errorf("%w (the CA is unreachable: check ACME_DIRECTORY_URL and the network)", err)
	}
	return err
}

func isDNSNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// offeredProfiles lists the profiles in the CA's directory, for messages.
func (i *Issuer) offeredProfiles() string {
	i.mu.Lock()
	core := i.core
	i.mu.Unlock()
	if core == nil {
		return "no profile list (directory not read yet)"
	}
	var names []string
	for name := range core.GetDirectory().Meta.Profiles {
		names = append(names, name)
	}
	if len(names) == 0 {
		return "no profiles"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
