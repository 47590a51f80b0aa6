package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-acme/lego/v5/challenge/dnspersist01"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/dnspersist"
)

// The challenge types certdock solves with (CERTDOCK_CHALLENGE).
const (
	// ChallengeDNS01 writes an _acme-challenge record through the DNS
	// provider for every authorization (the default).
	ChallengeDNS01 = "dns-01"
	// ChallengeDNSPersist01 validates against a _validation-persist
	// record the user creates once (draft-ietf-acme-dns-persist): no DNS
	// write, and no DNS credentials, at issuance.
	ChallengeDNSPersist01 = "dns-persist-01"
)

// RecordWriter adds a TXT record to a zone. It only ever inserts: it
// never replaces nor removes a record. certdock uses one, when the DNS
// provider can, to create a missing dns-persist-01 record once.
type RecordWriter interface {
	WriteTXT(ctx context.Context, fqdn, value string) error
}

// ErrNoAccount is returned when the dns-persist-01 records are asked for
// before the ACME account exists: the records name the account's URL, and
// `certdock run` registers it.
var ErrNoAccount = errors.New("the ACME account does not exist yet: `certdock run` registers it, then `certdock check` prints the records")

// PersistRecord is one dns-persist-01 record a certificate needs, with
// what DNS answers for it now.
type PersistRecord struct {
	// Want is the record to create (Want.ZoneLine).
	Want dnspersist.Want
	// Verdict judges the TXT values found at Want.FQDN().
	Verdict dnspersist.Verdict
	// Err is set when the lookup failed (Verdict is then not meaningful).
	Err error
}

// OK reports whether the record authorizes the validation.
func (r PersistRecord) OK() bool { return r.Err == nil && r.Verdict.Problem == dnspersist.OK }

// Problem says what is wrong with the record, naming it ("" when OK).
func (r PersistRecord) Problem() string {
	if r.Err != nil {
		return fmt.Sprintf("looking up %s: %v", strings.TrimSuffix(r.Want.FQDN(), "."), r.Err)
	}
	return r.Verdict.Detail
}

// RecordsError says that a certificate waits for dns-persist-01 records
// the user must create (or fix): each problem names its record, and each
// line is the record to create, in zone-file syntax.
type RecordsError struct {
	// Name is the certificate's.
	Name string
	// Records are the records that do not authorize the validation.
	Records []PersistRecord
}

// Error says what is wrong and what to create, on one line.
func (e *RecordsError) Error() string {
	return fmt.Sprintf("waiting for DNS record: %s; create: %s", strings.Join(e.Problems(), "; "), strings.Join(e.Lines(), " ; "))
}

// Problems lists what is wrong, one entry per record.
func (e *RecordsError) Problems() []string {
	var out []string
	for _, r := range e.Records {
		out = append(out, r.Problem())
	}
	return out
}

// Lines lists the records to create, in zone-file syntax.
func (e *RecordsError) Lines() []string {
	var out []string
	for _, r := range e.Records {
		out = append(out, r.Want.ZoneLine())
	}
	return out
}

// Permanent reports that retrying against the CA is pointless until DNS
// changes.
func (e *RecordsError) Permanent() bool { return true }

// Challenge returns the challenge type that solves the certificates of the
// DNS profile called profile ("" for the default provider).
func (i *Issuer) Challenge(profile string) string {
	if on, _ := i.persistSetup(profile); on {
		return ChallengeDNSPersist01
	}
	return ChallengeDNS01
}

// persistSetup says whether the DNS profile called profile ("" for the
// default provider) solves with dns-persist-01, and the writer that may
// create its missing records (nil when none).
func (i *Issuer) persistSetup(profile string) (bool, RecordWriter) {
	if profile == "" {
		return i.cfg.Challenge == ChallengeDNSPersist01, i.cfg.PersistWriter
	}
	p := i.cfg.Profiles[profile]
	return p.Challenge == ChallengeDNSPersist01, p.PersistWriter
}

// PersistRecords returns the dns-persist-01 records the names of spec
// need, with what DNS (the configured resolvers) answers for each now.
// With register false it never registers an account: it returns
// ErrNoAccount when none exists yet (`certdock check`); with register
// true it registers one as an issuance would.
func (i *Issuer) PersistRecords(ctx context.Context, spec cert.Spec, register bool) ([]PersistRecord, error) {
	acct, err := i.accountURL(ctx, register)
	if err != nil {
		return nil, err
	}
	issuerName, err := i.issuerDomainName(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	wants := dnspersist.Wants(spec.Domains, issuerName, acct, i.cfg.PersistUntil.Time(now))
	out := make([]PersistRecord, len(wants))
	client := i.persistClient()
	for n, w := range wants {
		out[n] = i.judgeRecord(ctx, client, w, now)
	}
	return out, nil
}

// judgeRecord looks the record up and judges what DNS answers.
func (i *Issuer) judgeRecord(ctx context.Context, client *dnspersist01.Client, w dnspersist.Want, now time.Time, alsoIssuers ...string) PersistRecord {
	res, err := client.LookupTXT(ctx, w.FQDN())
	if err != nil {
		return PersistRecord{Want: w, Err: err}
	}
	var txts []string
	for _, r := range res.Records {
		txts = append(txts, r.Value)
	}
	return PersistRecord{Want: w, Verdict: dnspersist.Judge(w, txts, now, alsoIssuers...)}
}

// CheckRecords is the controller's cheap check before an order with
// dns-persist-01: DNS queries only (after the account exists; it is
// registered on first use). It returns nil when every record authorizes
// the validation, and a *RecordsError naming the records to create or
// fix otherwise. A missing record is first created through the profile's
// RecordWriter when there is one; a record that exists is never changed.
// For certificates solved by dns-01 it does nothing.
func (i *Issuer) CheckRecords(ctx context.Context, spec cert.Spec) error {
	on, writer := i.persistSetup(spec.DNSProfile)
	if !on {
		return nil
	}
	recs, err := i.PersistRecords(ctx, spec, true)
	if err != nil {
		return classify(err)
	}
	bad := i.badRecords(recs)
	if len(bad) > 0 && writer != nil {
		if err := i.writeMissing(ctx, writer, bad); err != nil {
			return err
		}
		if recs, err = i.PersistRecords(ctx, spec, true); err != nil {
			return classify(err)
		}
		bad = i.badRecords(recs)
	}
	if len(bad) > 0 {
		return &RecordsError{Name: spec.Name, Records: bad}
	}
	return nil
}

func (i *Issuer) badRecords(recs []PersistRecord) []PersistRecord {
	var bad []PersistRecord
	for _, r := range recs {
		if !r.OK() {
			bad = append(bad, r)
		}
	}
	return bad
}

// writeMissing creates, through w, each record of recs that DNS does not
// have at all (another account's or a malformed record is left for the
// user to fix), then waits until the resolvers answer them.
func (i *Issuer) writeMissing(ctx context.Context, w RecordWriter, recs []PersistRecord) error {
	client := i.persistClient()
	for _, r := range recs {
		if r.Err != nil || r.Verdict.Problem != dnspersist.Missing {
			continue
		}
		if err := w.WriteTXT(ctx, r.Want.FQDN(), r.Want.Value()); err != nil {
			return &Error{Kind: KindRetry, Err: fmt.Errorf("creating the dns-persist-01 record %s: %w", r.Want.ZoneLine(), err)}
		}
		i.log.Info("created the dns-persist-01 record (certdock never changes it again)", "record", r.Want.ZoneLine())
		if err := i.waitVisible(ctx, client, r.Want); err != nil {
			return &Error{Kind: KindRetry, Err: err}
		}
	}
	return nil
}

// waitVisible polls the resolvers until they answer w (25 ms doubling to
// 2 s, at most defaultPropTimeout).
func (i *Issuer) waitVisible(ctx context.Context, client *dnspersist01.Client, w dnspersist.Want) error {
	deadline := time.Now().Add(defaultPropTimeout)
	delay := propFirstPoll
	for {
		r := i.judgeRecord(ctx, client, w, time.Now())
		if r.OK() {
			return nil
		}
		if time.Now().Add(delay).After(deadline) {
			return fmt.Errorf("the dns-persist-01 record %s was written but the resolvers do not answer it: %s", strings.TrimSuffix(w.FQDN(), "."), r.Problem())
		}
		if err := sleepCtx(ctx, delay); err != nil {
			return err
		}
		delay = min(delay*2, propMaxPoll)
	}
}

// persistClient returns a DNS client asking the configured resolvers
// (the system's when none are configured).
func (i *Issuer) persistClient() *dnspersist01.Client {
	return dnspersist01.NewClient(&dnspersist01.Options{RecursiveNameservers: i.cfg.Resolvers})
}

// issuerDomainName is the CA's issuer domain name: the first of the
// directory's caaIdentities (RFC 8555 §7.1.1), which is what a CA offers
// in dns-persist-01 challenges (Let's Encrypt: letsencrypt.org).
func (i *Issuer) issuerDomainName(ctx context.Context) (string, error) {
	core, err := i.directoryCore()
	if err != nil {
		return "", classify(i.hint(err))
	}
	ids := core.GetDirectory().Meta.CaaIdentities
	if len(ids) == 0 {
		return "", &Error{Kind: KindConfig, Err: fmt.Errorf("the CA's directory %s names no issuer domain name (meta.caaIdentities), so the dns-persist-01 records cannot be written down before an order: is dns-persist-01 offered by this CA? (CERTDOCK_CHALLENGE)", i.cfg.DirectoryURL)}
	}
	return strings.ToLower(ids[0]), nil
}

// accountURL returns the ACME account's URL: the one set up, else the one
// persisted in account.json; when neither exists, register decides
// between registering it and ErrNoAccount.
func (i *Issuer) accountURL(ctx context.Context, register bool) (string, error) {
	i.mu.Lock()
	acct := i.acct
	i.mu.Unlock()
	if acct != nil {
		return acct.Location, nil
	}
	if register {
		if _, _, err := i.setup(ctx); err != nil {
			return "", classify(i.hint(err))
		}
		i.mu.Lock()
		defer i.mu.Unlock()
		return i.acct.Location, nil
	}
	u, err := i.SavedAccountURL()
	if err != nil {
		return "", err
	}
	return u, nil
}

// SavedAccountURL reads the account URL persisted for the configured CA
// without contacting it; ErrNoAccount when there is none yet.
func (i *Issuer) SavedAccountURL() (string, error) {
	dir, err := accountDir(i.cfg.AccountsDir, i.cfg.ServerID)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(dir, "account.json"))
	if errors.Is(err, os.ErrNotExist) {
		return "", ErrNoAccount
	}
	if err != nil {
		return "", err
	}
	var a account
	if err := json.Unmarshal(data, &a); err != nil || a.Location == "" {
		return "", fmt.Errorf("account file %s unreadable: %v", filepath.Join(dir, "account.json"), err)
	}
	return a.Location, nil
}

// OtherAccounts returns the account URLs, other than the current one,
// that recs authorize: records left from a previous account.
func OtherAccounts(recs []PersistRecord) []string {
	var out []string
	for _, r := range recs {
		for _, o := range r.Verdict.Others {
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	slices.Sort(out)
	return out
}
