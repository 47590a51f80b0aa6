package issuer

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-acme/lego/v5/acme/api"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/challenge/dns01"
	legolog "github.com/go-acme/lego/v5/log"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/dnspersist"
)

// Config is what an Issuer needs. Provider is built by the caller (cmd/
// imports lego's all-provider registry; tests import one provider).
type Config struct {
	// DirectoryURL is the ACME directory.
	DirectoryURL string
	// ServerID identifies the CA in renewal files, in the CA-changed
	// check and in the account path; default DirectoryURL. The sandbox
	// sets a stable one because its CA listens on a new port every start.
	ServerID string
	// Email is the account contact; empty registers without contact.
	Email string
	// KeyType is the default certificate key type.
	KeyType cert.KeyType
	// AccountsDir is where accounts are persisted (CERTDOCK_DIR/accounts).
	AccountsDir string
	// CACertificates are PEM files trusted for the ACME server's TLS, in
	// addition to the system pool.
	CACertificates []string
	// CAPool, when set, replaces the trust pool entirely (sandbox).
	CAPool *x509.CertPool
	// Provider solves DNS-01; ProviderErr, when set, is returned for every
	// issuance (e.g. missing credentials) so one bad setting never crashes
	// the controller.
	Provider    challenge.Provider
	ProviderErr error
	// ProviderName is recorded in renewal files as the authenticator.
	ProviderName string
	// Resolvers (host:port) are used for the propagation check and zone
	// lookups; empty means the system resolvers.
	Resolvers []string
	// SleepTime is a fixed wait before the first propagation check
	// (LEXICON_SLEEP_TIME); zero means none.
	SleepTime time.Duration
	// EABKID and EABHMAC bind the account to an external account.
	EABKID, EABHMAC string
	// Logger receives issuer logs; lego's own logs go to it at Debug.
	Logger *slog.Logger
	// UserAgent is sent to the CA.
	UserAgent string
	// Getenv reads sequence-interval overrides; defaults to os.Getenv.
	Getenv func(string) string
	// Profiles are the DNS profiles by name: a certificate whose
	// DNSProfile names one is solved by that profile's provider, with its
	// own delegation check and sleep time; the others use Provider.
	Profiles map[string]Profile
	// DelegatedSubdomain (DELEGATED_SUBDOMAIN), e.g. "acme.delegated.net",
	// declares that every _acme-challenge name is delegated there by a
	// CNAME. When set, before a challenge record is presented for a name D,
	// the issuer checks with Resolvers that _acme-challenge.D is a CNAME to
	// _acme-challenge.<DelegatedSubdomain>. and fails the certificate
	// (KindConfig) with the record to create when it is not. The record
	// itself is written where the CNAME points: lego follows
	// _acme-challenge CNAMEs whether or not this is set.
	DelegatedSubdomain string
	// Challenge is how the default provider's certificates are validated:
	// ChallengeDNS01 ("" too) or ChallengeDNSPersist01, which needs no
	// Provider (CERTDOCK_CHALLENGE).
	Challenge string
	// PersistUntil is the persistUntil of the dns-persist-01 records
	// certdock prints or creates (CERTDOCK_PERSIST_UNTIL); zero: none.
	PersistUntil dnspersist.Until
	// PersistWriter, when set, creates the default provider's missing
	// dns-persist-01 records (see PersistWriter); nil: the user does.
	PersistWriter RecordWriter
}

// Issuer obtains certificates from one ACME CA through one DNS provider.
// It is safe for concurrent use.
type Issuer struct {
	cfg    Config
	client *http.Client
	log    *slog.Logger

	mu   sync.Mutex // guards account setup, certifiers and dirCore
	acct *account
	core *api.Core
	// certifiers holds one Certifier per DNS setup ("" is the default
	// provider), sharing core and the account.
	certifiers map[string]*certificate.Certifier
	// dns is the default provider ("") and each profile's.
	dns map[string]dnsSetup
	// dirCore reads the directory (and ARI) before any account exists.
	dirCore *api.Core
	// delegateTo is the fully qualified CNAME target every
	// _acme-challenge name must have; empty when DelegatedSubdomain is unset.
	delegateTo string
}

// New checks the configuration and prepares an Issuer. It does not contact
// the CA: the account is set up on first use, so an unreachable CA fails
// issuances (and is retried) instead of stopping the controller.
func New(cfg Config) (*Issuer, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.KeyType == "" {
		cfg.KeyType = cert.EC256
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "certdock"
	}
	if cfg.DirectoryURL == "" {
		return nil, errors.New("issuer: no ACME directory URL")
	}
	if cfg.ServerID == "" {
		cfg.ServerID = cfg.DirectoryURL
	}
	delegateTo, err := delegationTarget(cfg.DelegatedSubdomain)
	if err != nil {
		return nil, err
	}
	client, err := newHTTPClient(cfg.CACertificates, cfg.CAPool)
	if err != nil {
		return nil, err
	}
	client.Transport = watchTransport{base: client.Transport}
	// lego logs through a package-level slog logger; its Info chatter
	// (one line per step) is demoted to Debug under our logger.
	legolog.SetDefault(slog.New(demote{cfg.Logger.Handler()}).With("component", "lego"))
	if len(cfg.Resolvers) > 0 {
		dns01.SetDefaultClient(dns01.NewClient(&dns01.Options{RecursiveNameservers: cfg.Resolvers}))
	}
	dnsSetups, err := newDNSSetups(cfg, delegateTo)
	if err != nil {
		return nil, err
	}
	return &Issuer{cfg: cfg, client: client, log: cfg.Logger, delegateTo: delegateTo, dns: dnsSetups}, nil
}

// Server returns the identity of the CA this issuer uses (ServerID).
func (i *Issuer) Server() string { return i.cfg.ServerID }

// AccountID returns the identifier of the account once it has been set up
// (empty before).
func (i *Issuer) AccountID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.acct == nil {
		return ""
	}
	return i.acct.ID
}

// Issue obtains a new certificate for the spec's domains (key type and
// profile from the spec, else the configured defaults). Errors are *Error,
// which says whether and when a retry makes sense.
func (i *Issuer) Issue(ctx context.Context, req cert.Spec) (cert.Bundle, cert.IssueMeta, error) {
	return i.obtain(ctx, req, nil)
}

// obtain is Issue and Renew: it orders a certificate for req, replacing
// rep.old when rep is not nil (see Renew).
func (i *Issuer) obtain(ctx context.Context, req cert.Spec, rep *replacement) (cert.Bundle, cert.IssueMeta, error) {
	persist, _ := i.persistSetup(req.DNSProfile)
	ds, err := i.dnsFor(req.DNSProfile)
	if err != nil && !persist { // dns-persist-01 needs no provider
		return cert.Bundle{}, cert.IssueMeta{}, &Error{Kind: KindConfig, Err: err}
	}
	certifier, acctID, err := i.setupFor(ctx, ds)
	if err != nil {
		return cert.Bundle{}, cert.IssueMeta{}, classify(i.hint(err))
	}
	kt := req.KeyType
	if kt == "" {
		kt = i.cfg.KeyType
	}
	lkt, err := legoKeyType(kt)
	if err != nil {
		return cert.Bundle{}, cert.IssueMeta{}, &Error{Kind: KindConfig, Err: err}
	}
	oreq := certificate.ObtainRequest{
		Domains: req.Domains,
		KeyType: lkt,
		Profile: req.Profile,
	}
	if rep != nil {
		oreq.ReplacesCertID = i.replacesID(rep.old)
		oreq.PrivateKey = i.reusableKey(req.Name, rep, lkt)
	}
	res, replaceID, err := i.obtainReplacing(ctx, certifier, req.Name, oreq)
	if err != nil {
		return cert.Bundle{}, cert.IssueMeta{}, classify(i.hintProvider(err, ds.providerName))
	}
	if persist {
		ds.providerName = ChallengeDNSPersist01 // the renewal file's authenticator
	}
	b := cert.Bundle{Cert: res.Certificate, Chain: res.IssuerCertificate, PrivateKey: res.PrivateKey}
	meta := cert.IssueMeta{
		Server:    i.cfg.ServerID,
		Account:   acctID,
		KeyType:   kt,
		Provider:  ds.providerName,
		Profile:   req.Profile,
		IssuedAt:  time.Now(),
		CertURL:   res.CertURL,
		ReplaceID: replaceID,
	}
	return b, meta, nil
}

// setup returns the default provider's ready Certifier (see setupFor).
func (i *Issuer) setup(ctx context.Context) (*certificate.Certifier, string, error) {
	return i.setupFor(ctx, i.dns[""])
}

// setupFor returns a ready Certifier solving with ds, creating the ACME
// core and loading or registering the account on first use; every DNS
// setup shares the core and the account.
func (i *Issuer) setupFor(ctx context.Context, ds dnsSetup) (*certificate.Certifier, string, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if c := i.certifiers[ds.profile]; c != nil {
		return c, i.acct.ID, nil
	}
	if i.core == nil {
		acct, err := i.loadOrRegister(ctx)
		if err != nil {
			return nil, "", err
		}
		core, err := api.New(i.httpClient(), i.cfg.UserAgent, i.cfg.DirectoryURL, acct.Location, acct.key)
		if err != nil {
			return nil, "", fmt.Errorf("ACME directory %s: %w", i.cfg.DirectoryURL, err)
		}
		i.core, i.acct = core, acct
	}
	var s authzSolver
	if on, w := i.persistSetup(ds.profile); on {
		s = newPersistSolver(i, w)
	} else {
		chlg := dns01.NewChallenge(i.core, validate, ds.wrapProvider(), ds.challengeOptions(i.cfg.Resolvers)...)
		ds01 := &solver{chlg: chlg, sequential: ds.sequential(), log: i.log}
		if ds.delegateTo != "" {
			to := ds.delegateTo
			ds01.precheck = func(ctx context.Context, domain string) error { return i.checkDelegationTo(ctx, domain, to) }
		}
		s = ds01
	}
	c := certificate.NewCertifier(i.core, s, certificate.CertifierOptions{
		// lego polls a "processing" order every Timeout/60: 15 s gives
		// 250 ms polls, which suits both Pebble and Let's Encrypt.
		Timeout:             15 * time.Second,
		OverallRequestLimit: certificate.DefaultOverallRequestLimit,
	})
	if i.certifiers == nil {
		i.certifiers = map[string]*certificate.Certifier{}
	}
	i.certifiers[ds.profile] = c
	return c, i.acct.ID, nil
}

func legoKeyType(k cert.KeyType) (certcrypto.KeyType, error) {
	switch k {
	case cert.EC256:
		return certcrypto.EC256, nil
	case cert.EC384:
		return certcrypto.EC384, nil
	case cert.RSA2048:
		return certcrypto.RSA2048, nil
	case cert.RSA3072:
		return certcrypto.RSA3072, nil
	case cert.RSA4096:
		return certcrypto.RSA4096, nil
	case cert.RSA8192:
		return certcrypto.RSA8192, nil
	}
	return "", fmt.Errorf("unsupported key type %q", k)
}

// demote is a slog.Handler that lowers Info records to Debug, so lego's
// step-by-step messages only show with CERTDOCK_LOG_LEVEL=debug.
type demote struct{ slog.Handler }

func (d demote) Enabled(ctx context.Context, l slog.Level) bool {
	if l == slog.LevelInfo {
		l = slog.LevelDebug
	}
	return d.Handler.Enabled(ctx, l)
}

func (d demote) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	return d.Handler.Handle(ctx, r)
}

func (d demote) WithAttrs(a []slog.Attr) slog.Handler { return demote{d.Handler.WithAttrs(a)} }
func (d demote) WithGroup(n string) slog.Handler      { return demote{d.Handler.WithGroup(n)} }

// providerEnvPrefix guesses a provider's environment prefix, e.g.
// "dnsupdate" → "DNSUPDATE_"; lego's providers read <PREFIX>_* variables.
func providerEnvPrefix(name string) string {
	if name == "rfc2136" {
		return "DNSUPDATE_"
	}
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name)) + "_"
}

// httpClient returns a copy of the issuer's HTTP client for one lego API
// core: lego's api.New wraps the Transport of the client it is given in
// place, so cores sharing one client would race (one core's requests
// reading the field while another core is being created) and wrap the
// transport again each time.
func (i *Issuer) httpClient() *http.Client {
	c := *i.client
	return &c
}
