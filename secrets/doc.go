// Package secrets owns the naming and the bookkeeping of the Swarm
// secrets certdock creates to deliver certificates to Swarm services
// (certdock.secrets=true): what each secret is called, which labels mark
// it as certdock's, which references a service's spec should hold, and
// which secrets may go. It only decides; it imports no Docker SDK and does
// no I/O. The docker package carries the decisions out.
//
// Secret data is immutable, so every version of a certificate gets new
// secrets, one per file (cert.pem, chain.pem, fullchain.pem,
// privkey.pem), named by Name, e.g. certdock.example.com.v3.fullchain.pem,
// and labelled by Labels. One pass, for each service and its lineages:
//
//  1. For each wanted name: absent → create it with Labels; present →
//     Reusable says whether it is certdock's copy of that very version.
//     A user's secret of that name (ErrNotManaged) is never touched: the
//     delivery is skipped and reported.
//  2. Plan the service's references from the current ones and the wanted
//     ones (Refs): every reference certdock does not manage is kept, the
//     lineage's old files are swapped for the new in one update, and an
//     unchanged spec is not updated at all. The same call repairs a spec
//     that `docker stack deploy` replaced.
//  3. Garbage lists certdock's secrets no service's Spec nor PreviousSpec
//     (nor the pass itself) refers to; only those are removed.
//
// Facts of Swarm this relies on, read in moby/swarmkit and moby/moby:
//   - A secret name has at most 64 characters from [a-zA-Z0-9-_.], and
//     starts and ends with a letter or digit (swarmkit
//     manager/controlapi/common.go). Names are unique regardless of case
//     (the store indexes them lower-cased, manager/state/store): look
//     names up with strings.EqualFold.
//   - A reference's target (File.Name) may contain "/". The engine mounts
//     each file read-only on its own, at the target when it is absolute
//     and under /run/secrets otherwise (moby container/container.go,
//     getSecretTargetPath). Two references with one target are refused
//     (swarmkit manager/controlapi/service.go, validateSecretRefsSpec).
//   - UID and GID are decimal strings the engine converts with
//     strconv.Atoi when it starts a task: an empty one fails the task, so
//     Refs never leaves them empty.
//   - Removing a secret is refused while a service's current Spec refers
//     to it, but not its PreviousSpec (swarmkit secret.go RemoveSecret): a
//     rollback would then fail, so certdock protects PreviousSpec itself.
package secrets
