package controller

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"time"

	"github.com/certdock/certdock/cert"
)

// prune records who wants each certificate (adopting lineages another
// tool wrote that domains.conf lists) and removes lineages nothing wants
// any more: a certdock-owned lineage whose domains.conf line is gone is
// revoked (RevokeRemoved) and deleted; one only labels wanted is deleted
// once no workload has wanted it for LabelGrace. Nothing is removed while
// a source is incomplete (domains.conf missing, unreadable or with a bad
// line), and lineages certdock does not own are never touched.
func (c *Controller) prune(ctx context.Context, set desiredSet) {
	done := c.opts.Memory.Defer() // refreshing "last wanted" touches every certificate: persist once
	defer done()
	c.recordWanted(set.specs)
	if !set.complete {
		return
	}
	for _, name := range c.opts.Memory.Names() {
		if _, wanted := set.specs[name]; wanted {
			continue
		}
		rec, _ := c.opts.Memory.Get(name)
		if !rec.Owned {
			c.opts.Memory.Delete(name) // a failure record of a certificate nobody wants now
			continue
		}
		log := c.log.With("cert", name)
		revoke := false
		switch rec.Origin {
		case cert.FromLabel:
			if c.opts.Now().Sub(rec.LastWanted) < c.opts.LabelGrace {
				continue
			}
			log.Info("removing a certificate no workload has wanted for the grace period", "last_wanted", rec.LastWanted.UTC().Format(time.RFC3339))
		default:
			revoke = c.opts.RevokeRemoved
			log.Info("removing: its line was removed from domains.conf")
		}
		if err := c.remove(ctx, log, name, revoke); err != nil {
			log.Error("could not remove lineage", "err", err)
		}
	}
}

// recordWanted refreshes each wanted certificate's record (origin, last
// wanted, source, targets) and adopts a lineage written by another tool
// (certbot) that domains.conf lists: removal rules apply to it from now.
// A certificate whose source and actions are those recorded less than a
// minute ago is skipped without reading its record (minute resolution is
// plenty for a grace period of days, and keeps a no-op pass cheap).
func (c *Controller) recordWanted(specs map[string]cert.Spec) {
	now := c.opts.Now()
	if c.noted == nil {
		c.noted = map[string]wantedNote{}
	}
	for name, spec := range specs {
		if n, ok := c.noted[name]; ok && n.source == spec.Source && sameActions(n.actions, spec.Actions) && now.Sub(n.at) <= time.Minute {
			continue
		}
		rec, _ := c.opts.Memory.Get(name)
		adopt := false
		if !rec.Owned && spec.Source.Kind == cert.FromFile {
			if _, err := c.store.Load(name); err == nil {
				adopt = true
				c.log.Info("adopted an existing lineage listed in domains.conf", "cert", name)
			}
		}
		src, targets := spec.Source.String(), actionTexts(spec.Actions)
		if adopt || rec.Origin != spec.Source.Kind || now.Sub(rec.LastWanted) > time.Minute ||
			rec.Source != src || !slices.Equal(rec.Targets, targets) {
			rec = c.update(name, func(r *Record) {
				r.Owned = r.Owned || adopt
				r.LastWanted, r.Origin, r.Source, r.Targets = now, spec.Source.Kind, src, targets
			})
		}
		c.noted[name] = wantedNote{source: spec.Source, actions: slices.Clone(spec.Actions), at: rec.LastWanted}
	}
	for name := range c.noted {
		if _, ok := specs[name]; !ok {
			delete(c.noted, name)
		}
	}
}

// wantedNote is what recordWanted last recorded of a certificate.
type wantedNote struct {
	source  cert.Source
	actions []cert.Action
	at      time.Time // the record's LastWanted
}

// sameActions compares two action lists field by field.
func sameActions(a, b []cert.Action) bool {
	return slices.EqualFunc(a, b, func(x, y cert.Action) bool {
		return x.Kind == y.Kind && x.Target == y.Target && x.Service == y.Service && x.Signal == y.Signal && slices.Equal(x.Command, y.Command)
	})
}

// remove revokes (when asked) every still-valid version of a lineage and
// deletes it and its record, under the lineage lock so an issuance in
// flight finishes first instead of writing a version into a directory that
// was just removed. A version superseded by a renewal is still a valid
// certificate for names the user no longer wants: it is revoked too. A
// revocation that fails is reported per version; the lineage is deleted
// anyway.
func (c *Controller) remove(ctx context.Context, log *slog.Logger, name string, revoke bool) error {
	unlock, err := c.opts.Locker.Lock(ctx, name)
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer unlock()
	if revoke {
		for _, err := range c.revokeAll(ctx, log, name) {
			log.Warn("revocation failed; deleting anyway", "err", err)
		}
	}
	if err := c.store.Remove(name); err != nil {
		return err
	}
	c.opts.Memory.Delete(name)
	return nil
}

// revokeAll revokes every version of a lineage that has not expired,
// returning one error per version that could not be revoked.
func (c *Controller) revokeAll(ctx context.Context, log *slog.Logger, name string) []error {
	versions, err := c.store.Versions(name)
	if errors.Is(err, fs.ErrNotExist) {
		// No archive (live files written in place by another tool): the
		// current certificate is the only version.
		if cur, lerr := c.store.Load(name); lerr == nil {
			versions, err = []cert.Version{{Number: cur.Version, CertPEM: cur.CertPEM, NotAfter: cur.NotAfter}}, nil
		}
	}
	if err != nil {
		return []error{fmt.Errorf("listing versions: %w", err)}
	}
	var errs []error
	now := c.opts.Now()
	for _, v := range versions {
		if !now.Before(v.NotAfter) {
			continue
		}
		if err := c.issuer.Revoke(ctx, v.CertPEM); err != nil {
			errs = append(errs, fmt.Errorf("version %d: %w", v.Number, err))
			continue
		}
		log.Info("revoked: its line was removed from domains.conf", "version", v.Number)
	}
	return errs
}
