// Package docker is certdock's only importer of the Docker SDK
// (github.com/moby/moby/client). It lists the labelled containers and Swarm
// services of a Docker host (Snapshot), watches the daemon's event stream
// with reconnects (Watch), and performs the actions certdock takes after a
// certificate changes: restart a container, signal it, run a command in it
// (exec, with its exit code), or force-update a Swarm service. For
// certificates delivered as Swarm secrets it does the engine's side:
// create, list and remove secrets (CreateSecret, Secrets, RemoveSecret),
// read a service's secret references and those of its previous spec
// (ServiceSecrets, AllServiceSecretRefs), and swap them in one
// compare-and-swap update of the spec, waiting for it to converge
// (UpdateServiceSecrets). Which secrets a service should have, and which
// are certdock's to remove, is the caller's business.
//
// The package knows nothing of what labels mean: it hands workloads and
// their labels to the labels package, executes the cert.Actions it is
// given, and creates, lists and swaps the secrets it is told to. The
// connection to the daemon is disposable: nothing here assumes it stays
// up, every call talks to the daemon afresh, and Watch reconnects forever
// with backoff, telling its Handler after every reconnect so the caller
// can resync from a fresh Snapshot.
//
// A Client calls the SDK through engine, an interface of exactly the SDK
// methods the package uses (a subset of client.APIClient), so that its
// decisions are unit-tested against a fake; the end-to-end tests check the
// wiring against a real daemon.
//
// The client negotiates the API version with the daemon on the first
// request, so it works with engines down to API 1.40 (Docker 19.03); it is
// tested against Engine 20.10 (API 1.41).
package docker
