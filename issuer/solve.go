package issuer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/acme/api"
	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/challenge/dns01"
)

// Shipped propagation defaults. lego's dns01.Challenge.Solve sleeps one
// polling interval before its first propagation check and providers
// default to 2 s or more (rfc2136: 2 s, many others 2–10 s). certdock
// gives lego a 10 ms interval and polls inside its pre-check instead:
// the first check runs at once, then after 25 ms, doubling to 2 s. The
// check is a DNS query to the configured resolvers, so even a provider
// that takes a minute to propagate costs only ~40 queries. Providers keep
// their own overall propagation timeout.
const (
	legoInterval       = 10 * time.Millisecond
	propFirstPoll      = 25 * time.Millisecond
	propMaxPoll        = 2 * time.Second
	propRound          = 10 * time.Second // one pre-check call polls this long before handing back to lego's loop
	defaultPropTimeout = 60 * time.Second
)

// Authorization polling after the challenge is accepted. lego falls back to
// a 5 s base (2.5–7.5 s randomised) when the CA sends no Retry-After, which
// Pebble never does and Let's Encrypt does not on challenge responses.
// Validation usually completes within milliseconds (Pebble) to about a
// second (Let's Encrypt), so certdock polls at 25 ms doubling to a 2 s cap:
// at most ~8 requests in the first 5 s per authorization, far below Let's
// Encrypt's limits. A Retry-After sent by the CA always wins.
const (
	validateFirstPoll = 25 * time.Millisecond
	validateMaxPoll   = 2 * time.Second
	validateTimeout   = 3 * time.Minute
)

// validate is certdock's replacement for lego's internal challenge
// validation: it accepts the challenge, then polls the authorization with
// short exponential steps (see validateFirstPoll).
func validate(ctx context.Context, core *api.Core, domain string, chlg acme.Challenge) error {
	ch, err := core.Challenges.New(ctx, chlg.URL)
	if err != nil {
		return fmt.Errorf("accept challenge for %s: %w", domain, err)
	}
	switch ch.Status {
	case acme.StatusValid:
		return nil
	case acme.StatusInvalid:
		return fmt.Errorf("challenge for %s invalid: %w", domain, ch.Err())
	}
	ctx, cancel := context.WithTimeout(ctx, validateTimeout)
	defer cancel()
	delay := validateFirstPoll
	if ch.RetryAfter > 0 {
		delay = ch.RetryAfter
	}
	for {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for the CA to validate %s: %w", domain, ctx.Err())
		case <-t.C:
		}
		authz, err := core.Authorizations.Get(ctx, ch.AuthorizationURL)
		if err != nil {
			return fmt.Errorf("poll authorization for %s: %w", domain, err)
		}
		switch authz.Status {
		case acme.StatusValid:
			return nil
		case acme.StatusPending, acme.StatusProcessing:
		default:
			for _, c := range authz.Challenges {
				if (c.Type == string(challenge.DNS01) || c.Type == string(challenge.DNSPersist01)) && c.Error != nil {
					return fmt.Errorf("CA could not validate %s: %w", domain, c.Error)
				}
			}
			return fmt.Errorf("CA could not validate %s: authorization %s", domain, authz.Status)
		}
		delay = min(delay*2, validateMaxPoll)
	}
}

// solver implements lego's certificate resolver for DNS-01 only: all
// records are presented first, then every authorization is validated
// concurrently, then records are removed. Providers that declare themselves
// sequential (exec, rfc2136) are solved one authorization at a time.
type solver struct {
	chlg       *dns01.Challenge
	sequential *time.Duration // nil: parallel
	log        *slog.Logger
	// precheck, when set, runs for every authorization to solve before any
	// record is presented (the DELEGATED_SUBDOMAIN CNAME check); one
	// failure fails the certificate without touching DNS.
	precheck func(ctx context.Context, domain string) error
}

// Solve satisfies lego's certificate resolver interface.
func (s *solver) Solve(ctx context.Context, authzs []acme.Authorization) error {
	var todo []acme.Authorization
	for _, a := range authzs {
		if a.Status != acme.StatusValid {
			todo = append(todo, a)
		}
	}
	if s.precheck != nil {
		var errs []error
		checked := map[string]bool{} // a wildcard and its apex share a name
		for _, a := range todo {
			if checked[a.Identifier.Value] {
				continue
			}
			checked[a.Identifier.Value] = true
			if err := s.precheck(ctx, a.Identifier.Value); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
	}
	if s.sequential != nil {
		return s.solveSequential(ctx, todo, *s.sequential)
	}
	errs := make([]error, len(todo))
	presented := make([]bool, len(todo))
	for i, a := range todo {
		if err := s.chlg.PreSolve(ctx, a); err != nil {
			errs[i] = err
			continue
		}
		presented[i] = true
	}
	var wg sync.WaitGroup
	for i, a := range todo {
		if !presented[i] {
			continue
		}
		wg.Go(func() { errs[i] = s.chlg.Solve(ctx, a) })
	}
	wg.Wait()
	for i, a := range todo {
		if presented[i] {
			s.cleanUp(a)
		}
	}
	return errors.Join(errs...)
}

func (s *solver) solveSequential(ctx context.Context, todo []acme.Authorization, interval time.Duration) error {
	for n, a := range todo {
		err := s.chlg.PreSolve(ctx, a)
		if err == nil {
			err = s.chlg.Solve(ctx, a)
		}
		s.cleanUp(a)
		if err != nil {
			return err
		}
		if n < len(todo)-1 && interval > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(interval):
			}
		}
	}
	return nil
}

// cleanUp removes a challenge record even when the solving context was
// cancelled, so no TXT record is left behind.
func (s *solver) cleanUp(a acme.Authorization) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.chlg.CleanUp(ctx, a); err != nil {
		s.log.Warn("could not remove the challenge record", "domain", challenge.GetTargetedDomain(a), "err", err)
	}
}

// fastProvider wraps the configured provider so lego's first sleep and
// polling interval are legoInterval, keeping the provider's own
// propagation timeout. It deliberately hides Sequential(): the solver
// handles sequential providers itself.
type fastProvider struct {
	challenge.Provider
	timeout time.Duration
}

// Timeout implements challenge.ProviderTimeout.
func (p fastProvider) Timeout() (time.Duration, time.Duration) {
	return p.timeout, legoInterval
}

func (i *Issuer) wrapProvider() challenge.Provider { return i.dns[""].wrapProvider() }

// wrapProvider gives ds's provider certdock's polling interval, keeping its
// propagation timeout (plus the sleep time).
func (ds dnsSetup) wrapProvider() challenge.Provider {
	timeout := defaultPropTimeout
	if pt, ok := ds.provider.(challenge.ProviderTimeout); ok {
		if t, _ := pt.Timeout(); t > 0 {
			timeout = t
		}
	}
	return fastProvider{Provider: ds.provider, timeout: timeout + ds.sleep}
}

// sequential returns nil for providers that can solve in parallel. For
// sequential providers (exec, rfc2136) lego waits 60 s between
// authorizations by default; that wait predates active propagation checks
// and makes a SAN certificate take over a minute, so certdock waits 0
// unless the user set the provider's *_SEQUENCE_INTERVAL explicitly.
func (i *Issuer) sequential() *time.Duration { return i.dns[""].sequential() }

func (ds dnsSetup) sequential() *time.Duration {
	sp, ok := ds.provider.(interface{ Sequential() time.Duration })
	if !ok {
		return nil
	}
	var d time.Duration
	if ds.sequenceSet() {
		d = sp.Sequential()
	}
	return &d
}

// envSequenceSet reports whether the environment sets a
// *_SEQUENCE_INTERVAL (the default provider's setting).
func envSequenceSet(getenv func(string) string) bool {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(k, "_SEQUENCE_INTERVAL") && getenv(k) != "" {
			return true
		}
	}
	return false
}

// challengeOptions configures lego's propagation check.
func (ds dnsSetup) challengeOptions(resolvers []string) []dns01.ChallengeOption {
	var opts []dns01.ChallengeOption
	if len(resolvers) > 0 {
		// The configured resolvers are the source of truth. lego's
		// authoritative check always queries port 53 of the zone's NS
		// hosts, which fails for servers on other ports and behind
		// split-horizon firewalls; DNS_RESOLVERS replaces it.
		opts = append(opts, dns01.DisableAuthoritativeNssPropagationRequirement())
	}
	opts = append(opts, dns01.WrapPreCheck(pollCheck(ds.sleep)))
	return opts
}

// pollCheck is the propagation pre-check: an optional fixed wait before
// the first check of each record (LEXICON_SLEEP_TIME; lego's own
// PropagationWait would sleep before every poll), then active checks at
// once and with exponential spacing (propFirstPoll to propMaxPoll).
func pollCheck(sleep time.Duration) dns01.WrapPreCheckFunc {
	var mu sync.Mutex
	slept := map[string]bool{}
	return func(ctx context.Context, domain, fqdn, value string, check dns01.PreCheckFunc) (bool, error) {
		if sleep > 0 {
			mu.Lock()
			first := !slept[fqdn+" "+value]
			slept[fqdn+" "+value] = true
			mu.Unlock()
			if first {
				if err := sleepCtx(ctx, sleep); err != nil {
					return false, err
				}
			}
		}
		deadline := time.Now().Add(propRound)
		delay := propFirstPoll
		for {
			ok, err := check(ctx, fqdn, value)
			if ok && err == nil {
				return true, nil
			}
			if time.Now().Add(delay).After(deadline) {
				return false, err
			}
			if serr := sleepCtx(ctx, delay); serr != nil {
				return false, serr
			}
			delay = min(delay*2, propMaxPoll)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
