package issuer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/acme/api"
	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/challenge/dnspersist01"

	"github.com/certdock/certdock/dnspersist"
)

// persistSolver implements lego's certificate resolver for dns-persist-01:
// for every authorization it checks, with the configured resolvers, that
// a record authorizes this account (creating a missing one through writer
// when there is one), then lets lego's dnspersist01.Challenge accept the
// challenge; authorizations are validated concurrently. Nothing is ever
// removed from DNS.
type persistSolver struct {
	iss    *Issuer
	writer RecordWriter // nil: no DNS write at all
}

// newPersistSolver returns the dns-persist-01 solver. lego's challenge
// looks the record up once more through its process-wide default client:
// it is pointed at the configured resolvers (as dns01's is in New), so
// that lookup never leaves for the system's.
func newPersistSolver(i *Issuer, w RecordWriter) *persistSolver {
	if len(i.cfg.Resolvers) > 0 {
		dnspersist01.SetDefaultClient(dnspersist01.NewClient(&dnspersist01.Options{RecursiveNameservers: i.cfg.Resolvers}))
	}
	return &persistSolver{iss: i, writer: w}
}

// Solve satisfies lego's certificate resolver interface.
func (s *persistSolver) Solve(ctx context.Context, authzs []acme.Authorization) error {
	var todo []acme.Authorization
	for _, a := range authzs {
		if a.Status != acme.StatusValid {
			todo = append(todo, a)
		}
	}
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	for n, a := range todo {
		wg.Go(func() { errs[n] = s.solve(ctx, a) })
	}
	wg.Wait()
	var recErrs []PersistRecord
	var other []error
	for _, err := range errs {
		var re *RecordsError
		if errors.As(err, &re) {
			recErrs = append(recErrs, re.Records...)
		} else if err != nil {
			other = append(other, err)
		}
	}
	if len(other) > 0 {
		return errors.Join(other...)
	}
	if len(recErrs) > 0 {
		return &RecordsError{Records: recErrs}
	}
	return nil
}

// solve validates one authorization.
func (s *persistSolver) solve(ctx context.Context, a acme.Authorization) error {
	domain := challenge.GetTargetedDomain(a)
	chlng, err := challenge.FindChallenge(challenge.DNSPersist01, a)
	if err != nil {
		return &Error{Kind: KindConfig, Err: fmt.Errorf("the CA does not offer dns-persist-01 for %s (CERTDOCK_CHALLENGE=dns-persist-01; it offers %s): set CERTDOCK_CHALLENGE=dns-01 and a DNS provider", domain, offered(a))}
	}
	if len(chlng.IssuerDomainNames) == 0 || chlng.AccountURI == "" {
		return &Error{Kind: KindRejected, Err: fmt.Errorf("the CA's dns-persist-01 challenge for %s names no issuer domain name or account", domain)}
	}
	issuer := chlng.IssuerDomainNames[0]
	if pref, err := s.iss.issuerDomainName(ctx); err == nil && slices.Contains(chlng.IssuerDomainNames, pref) {
		issuer = pref
	}
	now := time.Now()
	want := dnspersist.Want{
		Name: a.Identifier.Value, Wildcard: a.Wildcard, Issuer: issuer,
		AccountURI: chlng.AccountURI, PersistUntil: s.iss.cfg.PersistUntil.Time(now),
	}
	client := s.iss.persistClient()
	rec := s.iss.judgeRecord(ctx, client, want, now, chlng.IssuerDomainNames...)
	if !rec.OK() && s.writer != nil && rec.Err == nil && rec.Verdict.Problem == dnspersist.Missing {
		if err := s.iss.writeMissing(ctx, s.writer, []PersistRecord{rec}); err != nil {
			return err
		}
		rec = s.iss.judgeRecord(ctx, client, want, time.Now(), chlng.IssuerDomainNames...)
	}
	if rec.Err != nil {
		return &Error{Kind: KindRetry, Err: fmt.Errorf("dns-persist-01 for %s: %s", domain, rec.Problem())}
	}
	if !rec.OK() {
		return &RecordsError{Records: []PersistRecord{rec}}
	}
	m := rec.Verdict.Match
	// lego's challenge looks the record up again (with its own default
	// client) and accepts the challenge: it is told the record found, so
	// its match (issuer, account, policy, persistUntil) is exact.
	lc, err := dnspersist01.NewChallenge(s.iss.coreForPersist(), validate, verifiedRecord{},
		dnspersist01.WithIssuerDomainName(m.Issuer),
		dnspersist01.CondOptions(!m.PersistUntil.IsZero(), dnspersist01.WithPersistUntil(m.PersistUntil)),
		dnspersist01.WrapPreCheck(func(context.Context, string, string, dnspersist01.RecordMatcher, dnspersist01.PreCheckFunc) (bool, error) {
			return true, nil // checked above, with the configured resolvers
		}),
	)
	if err != nil {
		return err
	}
	return lc.Solve(ctx, a)
}

// coreForPersist returns the account's ACME core (set up before any
// order is placed).
func (i *Issuer) coreForPersist() *api.Core {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.core
}

// offered lists the challenge types of an authorization, for messages.
func offered(a acme.Authorization) string {
	var types []string
	for _, c := range a.Challenges {
		types = append(types, c.Type)
	}
	if len(types) == 0 {
		return "none"
	}
	slices.Sort(types)
	return fmt.Sprint(types)
}

// verifiedRecord is the PersistentProvider given to lego's challenge: the
// record was verified with the configured resolvers before, so lego's own
// lookup (through its process-wide default client) finding nothing is no
// reason to write anything.
type verifiedRecord struct{}

// Persist implements challenge.PersistentProvider: nothing to write.
func (verifiedRecord) Persist(context.Context, string, string) error { return nil }

// Timeout implements challenge.PersistentProvider: lego sleeps the
// interval once before its (skipped) propagation check.
func (verifiedRecord) Timeout() (time.Duration, time.Duration) {
	return defaultPropTimeout, legoInterval
}

// authzSolver is lego's certificate resolver: solves every authorization
// of an order.
type authzSolver interface {
	Solve(ctx context.Context, authzs []acme.Authorization) error
}
