// Package labels knows what certdock's labels mean. It turns the labels of
// one container or Swarm service into certificate specs (certdock.domains,
// certdock.name), subscriptions to certificates defined elsewhere
// (certdock.cert) and the action to run on that workload when one of its
// certificates changes (certdock.restart, certdock.signal, certdock.exec).
// A label only ever acts on the workload that carries it.
//
// It does not import the Docker SDK: callers pass plain label maps.
package labels
