// Package deliver keeps certificates delivered to Swarm services as
// secrets: for every service that asks (label certdock.secrets=true), each
// of its certificates' current version is mounted in every task, and the
// secrets of older versions are removed once nothing refers to them.
//
// It is level-triggered. The controller hands it, after every pass, every
// delivery the desired set wants; Deliver compares each service's spec
// with what it should hold and updates only the services that differ,
// each once, with all files of a lineage swapped in one update. Whatever
// dropped certdock's secrets from a service (a `docker stack deploy`
// re-run, a manual update) is therefore repaired at the next pass, without
// a new certificate.
//
// Names, labels and the plan of a service's references are the secrets
// package's (pure); the engine calls are the docker package's.
package deliver
