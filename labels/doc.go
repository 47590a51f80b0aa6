// Package labels knows what certdock's labels mean. It turns the labels of
// one container or Swarm service into certificate specs (certdock.domains,
// certdock.name), subscriptions to certificates defined elsewhere
// (certdock.cert), the action to run on that workload when one of its
// certificates changes (certdock.restart, certdock.signal, certdock.exec)
// and, on a Swarm service, the delivery of its certificates as Swarm
// secrets (certdock.secrets and certdock.secrets.dir, .uid, .gid, .mode).
// A label only ever acts on the workload that carries it.
//
// A delivery is attached to each spec of the service as a cert.Delivery
// with every default filled in: files in /run/secrets/<lineage>/, owned by
// 0:0, privkey.pem 0400 and the others 0444. Delivering a new version
// updates the service, which already replaces its tasks: certdock.restart
// is allowed beside certdock.secrets but not needed. A bad
// certdock.secrets option, or certdock.secrets on a plain container, is
// reported naming the workload and the label and skips only the delivery;
// the certificates are still requested.
//
// It does not import the Docker SDK: callers pass plain label maps.
package labels
