// Package traefik reads Traefik's Docker labels (traefik.http.routers.*,
// traefik.tcp.routers.*) and says which names each TLS router serves: its
// tls.domains, else the Host() names of an HTTP router's rule or the
// HostSNI() names of a TCP router's. It parses router rules in Traefik v2
// and v3 syntax. It is pure: no Docker, no certificates issued here.
package traefik
