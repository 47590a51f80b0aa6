// Package dnsprofile holds DNS profiles — a named DNS provider with its
// own credentials and the zones it serves — and the pure choice of the
// profile that solves a certificate's challenges: the profile whose zone
// is the longest suffix of the certificate's names, else the default
// provider. It knows nothing of lego, Docker or files.
package dnsprofile
