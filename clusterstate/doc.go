// Package clusterstate holds what certdock needs to keep its state in a
// Swarm's own Raft store rather than on one node's volume, as pure parts
// that do not talk to Docker:
//
//   - the state key (CERTDOCK_STATE_KEY_FILE) and the sealed envelope that
//     keeps private material (account key, certificate keys) as AES-256-GCM
//     ciphertext in Swarm configs, whose data the API returns to anyone who
//     may read configs; the envelope names the key that sealed it and its
//     format version, so a wrong key or a newer certdock's state is refused
//     with a clear error and never overwritten;
//   - the lease that makes one controller the active one: its record (kept
//     in the labels of one config, updated with the config's version index,
//     a compare-and-swap on Raft), and the decisions of a contender and of
//     a holder as pure functions of what was observed and when.
//
// Time in lease decisions is each process's own clock, measured from when
// it observed a lease record: no decision compares timestamps written by
// another node, so skew between managers does not shorten or lengthen a
// lease.
package clusterstate
