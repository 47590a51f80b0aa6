package store

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/certdock/certdock/cert"
	"software.sslmate.com/src/go-pkcs12"
)

// pfxBase is the name consumers read the PKCS #12 file from, as the seed
// image wrote it: live/<name>/cert.pfx.
const pfxBase = "cert.pfx"

// PFXOptions says how WritePFX encodes a lineage (PFX_EXPORT_PASSPHRASE,
// PFX_EXPORT_ENCODING). Its String, GoString and LogValue methods never
// show the passphrase, so printing or logging the options is safe.
type PFXOptions struct {
	// Passphrase protects the file; it may be empty, as with the seed's
	// default, which many consumers accept.
	Passphrase string
	// Legacy selects the encoding old consumers read instead of the
	// modern one; see WritePFX.
	Legacy bool
}

// String describes the options without the passphrase.
func (o PFXOptions) String() string {
	return fmt.Sprintf("{Passphrase:%s Legacy:%t}", o.redacted(), o.Legacy)
}

// GoString is String, so that %#v does not show the passphrase either.
func (o PFXOptions) GoString() string { return "store.PFXOptions" + o.String() }

// LogValue describes the options for log/slog without the passphrase.
func (o PFXOptions) LogValue() slog.Value {
	return slog.GroupValue(slog.String("passphrase", o.redacted()), slog.Bool("legacy", o.Legacy))
}

func (o PFXOptions) redacted() string {
	if o.Passphrase == "" {
		return "(empty)"
	}
	return "(redacted)"
}

// encoder picks the PKCS #12 encoding.
//
// Modern2023 (PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC, HMAC-SHA-256
// MAC) is what OpenSSL 3 and Java 20 write by default; OpenSSL 1.1.1+,
// Java 12+ (and 8u301+, 11.0.12+) and Windows Server 2019 / Windows 10
// 1709+ read it.
//
// For Legacy, LegacyDES (3DES for both the key and the certificates,
// HMAC-SHA-1 MAC, as openssl pkcs12 -export -descert) rather than
// LegacyRC2: older Windows (certutil, IIS, the certificate store before
// Server 2019) and Java 8 read neither PBES2 nor AES, and both read 3DES;
// 40-bit RC2, the historical default for certificates, is broken, and
// OpenSSL 3 refuses it without its legacy provider, so a LegacyRC2 file
// would break the consumers OpenSSL 3 serves while protecting nothing.
func (o PFXOptions) encoder() *pkcs12.Encoder {
	if o.Legacy {
		return pkcs12.LegacyDES
	}
	return pkcs12.Modern2023
}

// macOID is the MAC digest the encoder of o uses; WritePFX reads it back
// to tell whether an existing file has the wanted encoding.
func (o PFXOptions) macOID() asn1.ObjectIdentifier {
	if o.Legacy {
		return asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26} // SHA-1
	}
	return asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1} // SHA-256
}

// WritePFX exports the current live version of a lineage as PKCS #12
// (private key, certificate and chain) for consumers that want one file,
// such as IIS, Exchange or Java keystores.
//
// For a lineage whose live files are links to version N, the file is
// written to archive/<name>/certN.pfx (FileMode and the configured owner,
// through a fsynced temporary file) and live/<name>/cert.pfx is then
// pointed at it with a relative link, moved by renaming a temporary link
// over whatever was there: an older link, or a regular file written by
// another tool (the seed image wrote one). For a lineage whose live files
// are regular files (version 0), live/<name>/cert.pfx is written as a
// regular file, atomically.
//
// WritePFX is idempotent: when the target file already decodes with the
// passphrase to the live key, certificate and chain in the wanted
// encoding, nothing is written, so it can run for every lineage at
// startup to catch up after a crash between Save and WritePFX. A changed
// passphrase or encoding rewrites the file. The passphrase never appears
// in errors. The error wraps fs.ErrNotExist when the lineage does not
// exist and ErrCorrupt when its live files cannot be used.
func (d *Dir) WritePFX(name string, opts PFXOptions) error {
	if err := cert.ValidName(name); err != nil {
		return fmt.Errorf("store: pfx: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := os.OpenRoot(d.root)
	if err != nil {
		return fmt.Errorf("store: pfx %s: %w", name, err)
	}
	defer r.Close()
	if err := d.writePFX(r, name, opts); err != nil {
		return fmt.Errorf("store: pfx %s: %w", name, err)
	}
	return nil
}

func (d *Dir) writePFX(r *os.Root, name string, opts PFXOptions) error {
	cur, err := readCurrent(r, name)
	if err != nil {
		return err
	}
	live := path.Join(liveDir, name)
	dir, base := live, pfxBase
	if cur.version > 0 {
		dir, base = path.Join(archiveDir, name), pfxArchiveBase(cur.version)
	}
	p := path.Join(dir, base)
	if !pfxCurrent(r, p, cur, opts) {
		data, err := opts.encoder().Encode(cur.key, cur.leaf, cur.chain, opts.Passphrase)
		if err != nil {
			// go-pkcs12's errors name algorithms or characters, never
			// the passphrase.
			return fmt.Errorf("encode PKCS #12: %v", err)
		}
		if err := d.writeFile(r, dir, base, data, false); err != nil {
			return err
		}
		if err := syncDir(r, dir); err != nil {
			return err
		}
	}
	if cur.version == 0 {
		return nil
	}
	target := pfxTarget(name, cur.version)
	if t, err := r.Readlink(path.Join(live, pfxBase)); err == nil && t == target {
		return nil
	}
	if err := relinkBase(r, live, pfxBase, target); err != nil {
		return err
	}
	return syncDir(r, live)
}

// pfxSource is the live version of a lineage, parsed.
type pfxSource struct {
	version int
	leaf    *x509.Certificate
	key     crypto.Signer
	chain   []*x509.Certificate
}

// readCurrent loads the live version of a lineage with its key and chain.
// For a linked lineage the key and chain are read from the archive files
// of the version the links point at.
func readCurrent(r *os.Root, name string) (*pfxSource, error) {
	l, err := load(r, name, 0)
	if err != nil {
		return nil, err
	}
	keyPath := path.Join(liveDir, name, "privkey.pem")
	chainPath := path.Join(liveDir, name, "chain.pem")
	if l.Version > 0 {
		keyPath = path.Join(archiveDir, name, archiveBase("privkey", l.Version))
		chainPath = path.Join(archiveDir, name, archiveBase("chain", l.Version))
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
	keyPEM, err := r.ReadFile(keyPath)
	if err != nil {
		return nil, corrupt("%v", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, corrupt("%s: %v", keyPath, err)
	}
	if !keyMatches(l.Leaf, key) {
		return nil, corrupt("%s does not match the certificate", keyPath)
	}
	chainPEM, err := r.ReadFile(chainPath)
	if err != nil {
		return nil, corrupt("%v", err)
	}
	chain, err := allCerts(chainPEM)
	if err != nil {
		return nil, corrupt("%s: %v", chainPath, err)
	}
	return &pfxSource{version: l.Version, leaf: l.Leaf, key: key, chain: chain}, nil
}

// pfxCurrent reports whether p is a regular file that decodes with the
// passphrase to exactly cur, in the encoding opts asks for.
func pfxCurrent(r *os.Root, p string, cur *pfxSource, opts PFXOptions) bool {
	fi, err := r.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	data, err := r.ReadFile(p)
	if err != nil {
		return false
	}
	mac, err := pfxMAC(data)
	if err != nil || !mac.Equal(opts.macOID()) {
		return false
	}
	key, leaf, chain, err := pkcs12.DecodeChain(data, opts.Passphrase)
	if err != nil || !leaf.Equal(cur.leaf) || len(chain) != len(cur.chain) {
		return false
	}
	for i, c := range chain {
		if !c.Equal(cur.chain[i]) {
			return false
		}
	}
	signer, ok := key.(crypto.Signer)
	return ok && keyMatches(cur.leaf, signer)
}

// pfxMAC returns the digest algorithm of a PKCS #12 file's MAC (RFC 7292
// PFX: version, authSafe, macData{mac DigestInfo, macSalt, iterations}).
func pfxMAC(data []byte) (asn1.ObjectIdentifier, error) {
	var pfx struct {
		Version  int
		AuthSafe asn1.RawValue
		MacData  struct {
			Mac struct {
				Algorithm pkix.AlgorithmIdentifier
				Digest    []byte
			}
			MacSalt    []byte
			Iterations int `asn1:"optional,default:1"`
		} `asn1:"optional"`
	}
	rest, err := asn1.Unmarshal(data, &pfx)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, errors.New("trailing data")
	}
	return pfx.MacData.Mac.Algorithm.Algorithm, nil
}

// repointPFX re-points live/<name>/cert.pfx, when it is a link to another
// version's file, at the file of the live version, if that exists. A
// missing cert.pfx, a regular one, or a live version without a PKCS #12
// file are left for the next WritePFX.
func repointPFX(r *os.Root, name string) (bool, error) {
	live := path.Join(liveDir, name)
	certTarget, err := r.Readlink(path.Join(live, "cert.pem"))
	if err != nil {
		return false, nil
	}
	kind, n, ok := parseArchiveBase(path.Base(certTarget))
	if !ok || kind != "cert" {
		return false, nil
	}
	p := path.Join(live, pfxBase)
	fi, err := r.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return false, nil
	}
	old, err := r.Readlink(p)
	if err != nil {
		return false, err
	}
	want := pfxTarget(name, n)
	if old == want {
		return false, nil
	}
	fi, err = r.Lstat(path.Join(archiveDir, name, pfxArchiveBase(n)))
	if err != nil || !fi.Mode().IsRegular() {
		return false, nil
	}
	if err := relinkBase(r, live, pfxBase, want); err != nil {
		return false, err
	}
	return true, syncDir(r, live)
}

// pfxTarget is the relative target of live/<name>/cert.pfx for version n.
func pfxTarget(name string, n int) string {
	return "../../" + archiveDir + "/" + name + "/" + pfxArchiveBase(n)
}

func pfxArchiveBase(n int) string { return "cert" + strconv.Itoa(n) + ".pfx" }

// parsePFXArchiveBase parses "cert12.pfx" into 12.
func parsePFXArchiveBase(base string) (int, bool) {
	stem, ok := strings.CutSuffix(base, ".pfx")
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutPrefix(stem, "cert")
	if !ok || digits == "" || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}
