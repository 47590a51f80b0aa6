// Package controller decides, per certificate, whether to issue, renew or
// leave it, and drives the work: it merges the desired set from its
// sources, runs a pure decision chain, queues certificates with
// one-key-at-a-time semantics, retries failures with backoff, and asks for
// the actions of changed certificates once per target.
//
// It declares the small interfaces it needs (Issuer, Store, Source, Actor)
// and imports neither lego nor the Docker SDK, and touches no file itself.
package controller
