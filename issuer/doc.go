// Package issuer is certdock's only importer of lego. It owns the ACME
// account (created once, persisted under CERTDOCK_DIR/accounts/, with
// External Account Binding when configured), the DNS-01 challenge solving
// with an active propagation check (and, with DELEGATED_SUBDOMAIN, a check
// of the _acme-challenge CNAMEs first), Obtain (Issue, and Renew, which
// names the replaced certificate and may keep its key), revocation
// (Revoke) and ACME Renewal Information (RenewalWindow, ARICertID). It
// never decides when to issue and never writes certificate files: it turns
// a request into a cert.Bundle. With dns-persist-01 (Config.Challenge, or
// a profile's) it writes no challenge record: it checks the
// _validation-persist records the user created once (CheckRecords,
// PersistRecords), creates a missing one only through an rfc2136
// RecordWriter, and lets lego's dnspersist01 challenge validate.
package issuer
