package secrets

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The labels certdock puts on every secret it creates. They live in a
// fixed "certdock." namespace, not under CERTDOCK_LABEL_PREFIX: a secret
// outlives the configuration that made it, and after a change of prefix
// certdock must still recognise its own secrets (to remove them, and not
// to take them for a user's).
const (
	// LabelManaged marks a secret as certdock's, with the value ManagedBy.
	// Only secrets carrying it are ever removed.
	LabelManaged = "certdock.managed-by"
	// LabelLineage is the full lineage name (names may be shortened).
	LabelLineage = "certdock.lineage"
	// LabelVersion is the version N of archive/<lineage>/certN.pem.
	LabelVersion = "certdock.version"
	// LabelNotAfter is the end of the certificate's validity, RFC 3339 UTC.
	LabelNotAfter = "certdock.not-after"
	// LabelFingerprint identifies the certificate, as the caller computes
	// it (e.g. the SHA-256 of the leaf in hex).
	LabelFingerprint = "certdock.fingerprint"
)

// ManagedBy is the value of LabelManaged.
const ManagedBy = "certdock"

// Labels returns the labels of the secrets of one version of a lineage.
func Labels(lineage string, version int, notAfter time.Time, fingerprint string) map[string]string {
	return map[string]string{
		LabelManaged:     ManagedBy,
		LabelLineage:     lineage,
		LabelVersion:     strconv.Itoa(version),
		LabelNotAfter:    notAfter.UTC().Format(time.RFC3339),
		LabelFingerprint: fingerprint,
	}
}

// Managed reports whether a secret's labels mark it as certdock's.
func Managed(labels map[string]string) bool {
	return labels[LabelManaged] == ManagedBy
}

// ErrNotManaged: a secret has a name certdock wants but was not created
// by certdock. It is never used, replaced nor removed.
var ErrNotManaged = errors.New("not created by certdock")

// ErrStale: a secret certdock created has the name certdock wants for
// other content (e.g. the certificate directory was reset and version
// numbers started again). Secrets are immutable: it must be removed,
// once nothing refers to it, before the name can be used again.
var ErrStale = errors.New("created by certdock for another certificate")

// Reusable reports whether the existing secret s can serve as the secret
// whose labels are want (from Labels): nil when s is certdock's and holds
// the same lineage, version and certificate; an error wrapping
// ErrNotManaged or ErrStale, and naming s, otherwise.
func Reusable(s Secret, want map[string]string) error {
	if !Managed(s.Labels) {
		return fmt.Errorf("secrets: secret %s (%s): %w: certdock leaves it alone", s.Name, s.ID, ErrNotManaged)
	}
	for _, k := range []string{LabelLineage, LabelVersion, LabelFingerprint} {
		if s.Labels[k] != want[k] {
			return fmt.Errorf("secrets: secret %s (%s): %w: %s is %q, want %q", s.Name, s.ID, ErrStale, k, s.Labels[k], want[k])
		}
	}
	return nil
}
