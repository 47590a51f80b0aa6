package clusterstate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/certdock/certdock/cert"
)

// Labels of the configs that hold lineage versions.
const (
	LabelLineage = "certdock.state.lineage"
	LabelVersion = "certdock.state.version"
	// LabelFormat on state configs is the record format (Format).
	LabelRecordFormat = "certdock.state.format"
)

// maxConfigName is Swarm's limit on object names.
const maxConfigName = 64

// maxConfigData is Swarm's limit on a config's data (1000 KB), less a
// margin for JSON escaping of the record's own fields.
const maxConfigData = 1000*1024 - 4096

// VersionRecord is one version of a lineage as kept in the swarm: the
// certificate and chain in clear, the private key sealed under the state
// key, and what certbot's renewal file records.
type VersionRecord struct {
	Lineage string
	Version int
	Bundle  cert.Bundle
	Meta    cert.IssueMeta
}

// versionData is a VersionRecord's config data.
type versionData struct {
	Format  int             `json:"format"`
	Lineage string          `json:"lineage"`
	Version int             `json:"version"`
	Cert    string          `json:"cert"`
	Chain   string          `json:"chain"`
	Key     json.RawMessage `json:"key"` // a sealed envelope
	Meta    recordMeta      `json:"meta"`
}

type recordMeta struct {
	Server    string       `json:"server,omitempty"`
	Account   string       `json:"account,omitempty"`
	KeyType   cert.KeyType `json:"key_type,omitempty"`
	Provider  string       `json:"provider,omitempty"`
	Profile   string       `json:"profile,omitempty"`
	IssuedAt  string       `json:"issued_at,omitempty"`
	CertURL   string       `json:"cert_url,omitempty"`
	ReplaceID string       `json:"replace_id,omitempty"`
}

// VersionConfigName names the config of a lineage version:
// "certdock-v-<lineage>-<N>", the lineage shortened stably (a prefix and
// a hash of the whole name) when the name would exceed Swarm's limit.
func VersionConfigName(lineage string, version int) string {
	suffix := "-" + strconv.Itoa(version)
	const prefix = "certdock-v-"
	stem := lineage
	if len(prefix)+len(stem)+len(suffix) > maxConfigName {
		sum := sha256.Sum256([]byte(lineage))
		keep := maxConfigName - len(prefix) - len(suffix) - 13
		stem = lineage[:keep] + "-" + hex.EncodeToString(sum[:6])
	}
	return prefix + stem + suffix
}

// keyContext binds a sealed key to its lineage and version.
func keyContext(lineage string, version int) string {
	return "lineage " + lineage + " version " + strconv.Itoa(version) + " private key"
}

// EncodeVersion returns the config name, data and labels of r, its key
// sealed under k.
func EncodeVersion(k Key, r VersionRecord) (name string, data []byte, labels map[string]string, err error) {
	if err := cert.ValidName(r.Lineage); err != nil {
		return "", nil, nil, err
	}
	if r.Version < 1 {
		return "", nil, nil, fmt.Errorf("lineage %s: version %d", r.Lineage, r.Version)
	}
	if len(r.Bundle.Cert) == 0 || len(r.Bundle.PrivateKey) == 0 {
		return "", nil, nil, fmt.Errorf("lineage %s version %d: certificate or key missing", r.Lineage, r.Version)
	}
	sealed, err := k.Seal(r.Bundle.PrivateKey, keyContext(r.Lineage, r.Version))
	if err != nil {
		return "", nil, nil, err
	}
	d := versionData{Format: Format, Lineage: r.Lineage, Version: r.Version,
		Cert: string(r.Bundle.Cert), Chain: string(r.Bundle.Chain), Key: sealed,
		Meta: recordMeta{Server: r.Meta.Server, Account: r.Meta.Account, KeyType: r.Meta.KeyType,
			Provider: r.Meta.Provider, Profile: r.Meta.Profile, CertURL: r.Meta.CertURL, ReplaceID: r.Meta.ReplaceID}}
	if !r.Meta.IssuedAt.IsZero() {
		d.Meta.IssuedAt = r.Meta.IssuedAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	data, err = json.Marshal(d)
	if err != nil {
		return "", nil, nil, err
	}
	if len(data) > maxConfigData {
		return "", nil, nil, fmt.Errorf("lineage %s version %d: %d bytes, over a Swarm config's limit", r.Lineage, r.Version, len(data))
	}
	labels = map[string]string{
		LabelState:        "version",
		LabelLineage:      r.Lineage,
		LabelVersion:      strconv.Itoa(r.Version),
		LabelRecordFormat: strconv.Itoa(Format),
	}
	return VersionConfigName(r.Lineage, r.Version), data, labels, nil
}

// ErrMismatch: a record's labels and data disagree, or it is not under
// the name its content calls for.
var ErrMismatch = errors.New("state record does not match its labels")

// DecodeVersion reads a version config (its name, labels and data),
// opening the key with k. A newer format is ErrNewer; a record whose
// labels, name and content disagree is ErrMismatch; a key sealed with
// another key is ErrWrongKey. Errors name the config, never its data.
func DecodeVersion(k Key, name string, labels map[string]string, data []byte) (VersionRecord, error) {
	if f, err := strconv.Atoi(labels[LabelRecordFormat]); err != nil {
		return VersionRecord{}, fmt.Errorf("config %s: label %s=%q: %w", name, LabelRecordFormat, labels[LabelRecordFormat], ErrMismatch)
	} else if f > Format {
		return VersionRecord{}, fmt.Errorf("config %s: %w (format %d, this certdock reads up to %d)", name, ErrNewer, f, Format)
	}
	var d versionData
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		return VersionRecord{}, fmt.Errorf("config %s: not a version record: %w", name, ErrMismatch)
	}
	if d.Format > Format {
		return VersionRecord{}, fmt.Errorf("config %s: %w (format %d, this certdock reads up to %d)", name, ErrNewer, d.Format, Format)
	}
	if d.Lineage != labels[LabelLineage] || strconv.Itoa(d.Version) != labels[LabelVersion] ||
		VersionConfigName(d.Lineage, d.Version) != name || cert.ValidName(d.Lineage) != nil || d.Version < 1 {
		return VersionRecord{}, fmt.Errorf("config %s: %w", name, ErrMismatch)
	}
	key, err := k.Open(d.Key, keyContext(d.Lineage, d.Version))
	if err != nil {
		return VersionRecord{}, fmt.Errorf("config %s (lineage %s version %d): private key: %w", name, d.Lineage, d.Version, err)
	}
	r := VersionRecord{Lineage: d.Lineage, Version: d.Version,
		Bundle: cert.Bundle{Cert: []byte(d.Cert), Chain: []byte(d.Chain), PrivateKey: key},
		Meta: cert.IssueMeta{Server: d.Meta.Server, Account: d.Meta.Account, KeyType: d.Meta.KeyType,
			Provider: d.Meta.Provider, Profile: d.Meta.Profile, CertURL: d.Meta.CertURL, ReplaceID: d.Meta.ReplaceID}}
	if d.Meta.IssuedAt != "" {
		if err := r.Meta.IssuedAt.UnmarshalText([]byte(d.Meta.IssuedAt)); err != nil {
			return VersionRecord{}, fmt.Errorf("config %s: issued_at: %w", name, ErrMismatch)
		}
	}
	return r, nil
}
