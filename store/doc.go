// Package store owns certdock's files on disk, in certbot's layout so that
// every existing consumer of /etc/letsencrypt keeps working:
//
//	archive/<name>/{cert,chain,fullchain,privkey}N.pem   every version ever saved
//	archive/<name>/certN.pfx                            PKCS #12 export of version N, when on
//	live/<name>/{cert,chain,fullchain,privkey}.pem      relative links to the current version
//	live/<name>/cert.pfx                                relative link to the current PKCS #12 file
//	live/<name>/README, live/README                     what the files are for
//	renewal/<name>.conf                                 certbot-compatible renewal settings
//	certdock/state.json                                 certdock's own state (0600, dir 0700)
//
// It reads the current lineage of a certificate (leaf, SANs, validity, key
// type, issuing CA), saves a new version atomically (every archive file is
// durable before any live link moves, and links move by renaming a temporary
// symlink over the old one) and repairs live/ after a crash so that all four
// links point at the newest complete version. It lists every complete
// version of a lineage (so that a removed one can be revoked whole),
// exports lineages as PKCS #12, applies the configured owner and modes,
// removes lineages, and keeps certdock's own state (ownership, origin,
// failure streaks, the CA's last renewal windows).
//
// All file access goes through an [os.Root], or, for the reads of a start-up
// and of a first Load on Linux, through openat2(2) confined beneath the root
// and refusing every symlink (anything else is read through the os.Root), so
// a symlink can never lead the store outside its directory. Neither key material nor certificate bytes
// ever appear in errors.
package store
