package store

// liveReadme is written to live/README when it is missing. It says the same
// things certbot's does, in certdock's words.
const liveReadme = `Each directory here holds the current certificate of one lineage, named
after its main domain. The files are links into ../archive/, which keeps
every version; they move to a new version each time the certificate is
renewed, so point your software at the links, not at the archive.

  <name>/privkey.pem    the private key of the certificate
  <name>/fullchain.pem  the certificate followed by its issuer chain;
                        what most servers want (nginx ssl_certificate,
                        Apache SSLCertificateFile, HAProxy with the key)
  <name>/chain.pem      only the issuer chain
  <name>/cert.pem       only the certificate; many servers break with it,
                        read your server's documentation before using it
  <name>/cert.pfx       key, certificate and chain in one PKCS #12 file,
                        when PFX export is on (IIS, Exchange, Java)

Do not move or rename these files or directories: certdock (and certbot,
if you go back to it) expects to find them here. The layout is certbot's,
see https://eff-certbot.readthedocs.io/en/stable/using.html#where-are-my-certificates
`

// lineageReadme is written to live/<name>/README when it is missing.
const lineageReadme = `This directory holds the current version of one certificate, as links
into ../../archive/. They are replaced atomically at each renewal.

  privkey.pem    the private key of the certificate
  fullchain.pem  the certificate followed by its issuer chain (what most
                 servers want)
  chain.pem      only the issuer chain
  cert.pem       only the certificate; many server configurations break
                 with it, read your server's documentation first
  cert.pfx       key, certificate and chain as PKCS #12, when PFX export
                 is on

Do not move or rename these files. The layout is certbot's, see
https://eff-certbot.readthedocs.io/en/stable/using.html#where-are-my-certificates
`
