package deliver

import (
	"context"
	"errors"

	"github.com/certdock/certdock/controller"
	"github.com/certdock/certdock/docker"
	"github.com/certdock/certdock/secrets"
)

// collect removes certdock's secrets that no service's spec or previous
// spec refers to, nor any of wants. When no service changed in this pass,
// the listing made at its start is current enough; otherwise the services
// and secrets are listed again.
func (d *Deliverer) collect(ctx context.Context, p *pass, wants []controller.Delivery, changed bool) {
	if changed {
		fresh, err := d.look(ctx)
		if err != nil {
			d.log.Warn("cannot list services and secrets to remove unused ones; trying at the next pass", "err", err)
			return
		}
		p = fresh
	}
	lists := make([][]secrets.Ref, 0, 2*len(p.services)+len(wants))
	for _, s := range p.services {
		lists = append(lists, fromDocker(s.Secrets), fromDocker(s.PreviousSecrets))
	}
	for _, w := range wants {
		lists = append(lists, secrets.Refs(w.Spec.Name, w.Lineage.Version, w.To))
	}
	var owned []secrets.Secret
	for _, s := range p.owned {
		owned = append(owned, secrets.Secret{ID: s.ID, Name: s.Name, Labels: s.Labels})
	}
	for _, g := range secrets.Garbage(owned, secrets.Referenced(lists...)) {
		err := d.eng.RemoveSecret(ctx, g.ID)
		switch {
		case err == nil:
			d.log.Info("unused secret removed", "secret", g.Name, "lineage", g.Labels[secrets.LabelLineage], "version", g.Labels[secrets.LabelVersion])
		case errors.Is(err, docker.ErrSecretInUse), errors.Is(err, docker.ErrNotFound):
			d.log.Debug("secret not removed", "secret", g.Name, "err", err)
		default:
			d.log.Warn("cannot remove unused secret", "secret", g.Name, "err", err)
		}
	}
}
