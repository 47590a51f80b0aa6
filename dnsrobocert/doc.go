// Package dnsrobocert reads dnsrobocert's config.yml — the whole schema
// of dnsrobocert 3 (draft, acme, profiles, certificates), as strictly as
// dnsrobocert validates it — and turns it into certdock's terms: settings
// (as the environment variables they stand for), DNS profiles and desired
// certificates. It is pure: it reads bytes and an environment lookup, and
// every error names the file, the line and the key's path.
package dnsrobocert
