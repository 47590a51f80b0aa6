// Package ops owns certdock's operational endpoints, served on
// CERTDOCK_LISTEN: /healthz (ready once the first pass is done, unhealthy
// while a check such as the Docker connection or the store fails) and
// /metrics in the Prometheus text exposition format (version 0.0.4),
// written here with the standard library only.
//
// The controller and the wiring feed a Metrics and a Health; this package
// knows nothing of certificates beyond their names and times.
package ops
