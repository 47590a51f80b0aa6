package cert

import (
	"crypto/x509"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// KeyType names the private-key algorithm of a certificate, in the
// spelling of ACME_KEY_TYPE.
type KeyType string

// The key types certdock can request.
const (
	EC256   KeyType = "ec256"
	EC384   KeyType = "ec384"
	RSA2048 KeyType = "rsa2048"
	RSA3072 KeyType = "rsa3072"
	RSA4096 KeyType = "rsa4096"
	RSA8192 KeyType = "rsa8192"
)

// KeyTypes lists every supported key type, in the order they are documented.
var KeyTypes = []KeyType{EC256, EC384, RSA2048, RSA3072, RSA4096, RSA8192}

// ParseKeyType accepts a key type in ACME_KEY_TYPE spelling (case-insensitive,
// "P256"/"P384" and "RSA2048" style accepted too).
func ParseKeyType(s string) (KeyType, error) {
	switch k := KeyType(strings.ToLower(s)); k {
	case "p256", "ecdsa256", "ec-256":
		return EC256, nil
	case "p384", "ecdsa384", "ec-384":
		return EC384, nil
	default:
		if slices.Contains(KeyTypes, k) {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown key type %q (valid: ec256, ec384, rsa2048, rsa3072, rsa4096, rsa8192)", s)
}

// SourceKind tells where a desired certificate was declared.
type SourceKind string

// The kinds of source.
const (
	FromFile  SourceKind = "file"
	FromLabel SourceKind = "label"
)

// Source says where a Spec was declared: a line of a file, or a workload's
// labels. It is used in messages and in status output.
type Source struct {
	Kind     SourceKind
	File     string // for FromFile: file path as given
	Line     int    // for FromFile: 1-based line number
	Workload string // for FromLabel: container or service name
}

// String renders the source the way error messages name it
// ("domains.conf:3", "container web").
func (s Source) String() string {
	switch s.Kind {
	case FromFile:
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	case FromLabel:
		return "workload " + s.Workload
	}
	return "unknown source"
}

// ActionKind is what to do to a target after its certificate changed.
type ActionKind string

// The kinds of action.
const (
	Restart ActionKind = "restart" // restart a container (or force-update a Swarm service)
	Exec    ActionKind = "exec"    // run Command inside the container, without a shell
	Signal  ActionKind = "signal"  // send Signal to the container's main process
)

// Action is one thing to do to one named workload when a certificate gets
// a new version.
type Action struct {
	Kind    ActionKind
	Target  string   // container or service name
	Service bool     // Target is a Swarm service: Restart means a force-update
	Command []string // for Exec: argv, never run through a shell
	Signal  string   // for Signal: e.g. "SIGHUP"
}

// String renders the action for logs, e.g. "exec web: nginx -s reload".
func (a Action) String() string {
	switch a.Kind {
	case Exec:
		return fmt.Sprintf("exec %s: %q", a.Target, a.Command)
	case Signal:
		return fmt.Sprintf("signal %s: %s", a.Target, a.Signal)
	}
	if a.Service {
		return "force-update service " + a.Target
	}
	return fmt.Sprintf("%s %s", a.Kind, a.Target)
}

// DeliveryKind is how a certificate is handed to a workload besides the
// files under live/.
type DeliveryKind string

// The kinds of delivery.
const (
	// DeliverSecrets: the certificate's files as Swarm secrets mounted in
	// every task of a Swarm service.
	DeliverSecrets DeliveryKind = "secrets"
)

// Default modes of delivered files inside the workload.
const (
	DefaultDeliveryMode    fs.FileMode = 0o444 // fullchain.pem, cert.pem, chain.pem
	DefaultDeliveryKeyMode fs.FileMode = 0o400 // privkey.pem
)

// Delivery is one certificate to keep delivered to one workload, with
// every option resolved: the labels package fills in the defaults, so a
// consumer never guesses them.
type Delivery struct {
	Kind DeliveryKind
	// Service is the Swarm service name.
	Service string
	// Dir is the directory of the files inside the workload: relative to
	// /run/secrets (by default the lineage name) or absolute. It is clean,
	// has no ".." component and is never "/".
	Dir string
	// UID and GID own the files, as decimal numbers ("0" by default):
	// Swarm takes numbers only.
	UID, GID string
	// Mode is the permission of fullchain.pem, cert.pem and chain.pem;
	// KeyMode that of privkey.pem. A certdock.secrets.mode label sets both.
	Mode, KeyMode fs.FileMode
}

// String renders the delivery for logs, e.g.
// "secrets to service api at example.com (uid 0, gid 0, mode 0444, key 0400)".
func (d Delivery) String() string {
	return fmt.Sprintf("%s to service %s at %s (uid %s, gid %s, mode %04o, key %04o)",
		d.Kind, d.Service, d.Dir, d.UID, d.GID, uint32(d.Mode), uint32(d.KeyMode))
}

// Spec is one desired certificate.
type Spec struct {
	// Name is the lineage name: the directory under live/ and archive/.
	Name string
	// Domains are normalised names; Domains[0] is the main domain.
	Domains []string
	// KeyType is the key algorithm wanted; empty means the configured default.
	KeyType KeyType
	// Profile is the ACME profile wanted; empty means the CA's default.
	Profile string
	// DNSProfile names the DNS profile (provider and credentials) that
	// solves the certificate's challenges; empty means the default
	// provider (DNS_PROVIDER / LEXICON_PROVIDER).
	DNSProfile string
	// Source says where the certificate was declared.
	Source Source
	// Actions run after the certificate gets a new version.
	Actions []Action
	// Deliveries are copies of the certificate a workload wants besides
	// the files under live/ (certdock.secrets). Unlike Actions, which run
	// once after a new version, a delivery is a state to keep: every pass
	// checks it and repairs it.
	Deliveries []Delivery
}

// SameDomains reports whether two domain lists name the same set of names,
// in any order.
func SameDomains(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// Bundle is freshly issued material, all PEM-encoded.
type Bundle struct {
	Cert       []byte // the leaf certificate
	Chain      []byte // the issuer chain, leaf excluded
	PrivateKey []byte // the leaf's private key
}

// Fullchain returns the leaf followed by its chain, as certbot's fullchain.pem.
func (b Bundle) Fullchain() []byte {
	out := make([]byte, 0, len(b.Cert)+len(b.Chain)+1)
	out = append(out, b.Cert...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(out, b.Chain...)
}

// IssueMeta records how a version was obtained; the store writes it to the
// certbot-compatible renewal/<name>.conf so the CA can be compared later.
type IssueMeta struct {
	Server    string  // ACME directory URL
	Account   string  // account identifier (certbot: the account directory name)
	KeyType   KeyType // key algorithm of the private key
	Provider  string  // DNS provider name, recorded as the authenticator
	Profile   string  // ACME profile, if any
	IssuedAt  time.Time
	CertURL   string // where the CA serves this certificate, if known
	ReplaceID string // ARI certificate identifier of the replaced certificate, if any
}

// Lineage is what the store knows of the current version of a certificate.
type Lineage struct {
	Name      string
	Version   int // N of archive/<name>/cert<N>.pem
	Domains   []string
	NotBefore time.Time
	NotAfter  time.Time
	KeyType   KeyType
	// Server is the ACME directory URL the lineage was issued by, read from
	// renewal/<name>.conf; empty when unknown.
	Server string
	// Leaf is the parsed leaf certificate.
	Leaf *x509.Certificate
	// CertPEM is the leaf certificate as stored (used for ARI and renewal).
	CertPEM []byte
}

// Version is one complete version of a lineage in archive/<name>/.
type Version struct {
	// Number is N of archive/<name>/certN.pem.
	Number int
	// CertPEM is the leaf certificate of the version, PEM-encoded (the
	// chain is not included).
	CertPEM []byte
	// NotBefore and NotAfter bound the certificate's validity.
	NotBefore, NotAfter time.Time
	// Serial is the certificate's serial number in decimal, as big.Int's
	// String writes it.
	Serial string
}
