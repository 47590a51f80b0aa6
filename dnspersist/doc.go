// Package dnspersist holds what certdock knows of the dns-persist-01
// challenge (draft-ietf-acme-dns-persist) as pure functions: the record a
// certificate's names need (_validation-persist.<name> TXT "<issuer
// domain name>; accounturi=<account URL>[; policy=wildcard][;
// persistUntil=<unix time>]"), its zone-file line, the judgement of the
// TXT values DNS answers (missing, another account, no wildcard policy,
// expired, malformed), and CERTDOCK_PERSIST_UNTIL. It imports neither
// lego nor any other certdock package and does no I/O.
package dnspersist
