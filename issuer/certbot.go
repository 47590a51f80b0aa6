package issuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// certbotAccount is an ACME account found in certbot's account storage:
// accounts/<netloc>/<directory path>/<account id>/ holding
// private_key.json (a JWK), regr.json ({"body": {...}, "uri": URL}) and
// meta.json. netloc is the directory URL's host[:port] as written in the
// URL (certbot keeps the colon on Linux, see
// certbot.configuration.NamespaceConfig.server_path).
type certbotAccount struct {
	dir      string
	id       string
	key      crypto.Signer
	location string // regr.json "uri"; empty when certbot did not record it
	contact  []string
	modTime  time.Time
}

// certbotAccountsDir returns certbot's accounts directory for a CA.
func certbotAccountsDir(root, directoryURL string) (string, error) {
	u, err := url.Parse(directoryURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("invalid ACME directory URL %q", directoryURL)
	}
	parts := []string{root, u.Host}
	for _, part := range strings.Split(strings.Trim(u.Path, "/"), "/") {
		if part == "" {
			continue
		}
		if part == ".." || part == "." {
			return "", fmt.Errorf("invalid ACME directory URL path %q", u.Path)
		}
		parts = append(parts, part)
	}
	return filepath.Join(parts...), nil
}

// findCertbotAccounts lists the account directories certbot keeps for a CA
// (those with a private_key.json), without reading them. certdock's own
// directory ("certdock") may sit beside them and is skipped.
func findCertbotAccounts(root, directoryURL string) ([]string, error) {
	dir, err := certbotAccountsDir(root, directoryURL)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, e := range entries {
		if e.Name() == "certdock" || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		d := filepath.Join(dir, e.Name())
		if st, err := os.Stat(filepath.Join(d, "private_key.json")); err == nil && st.Mode().IsRegular() {
			dirs = append(dirs, d)
		}
	}
	return dirs, nil
}

// accountModTime is when certbot last wrote an account: the newest of its
// files' modification times.
func accountModTime(dir string) time.Time {
	var newest time.Time
	for _, name := range []string{"private_key.json", "regr.json", "meta.json"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.ModTime().After(newest) {
			newest = st.ModTime()
		}
	}
	return newest
}

// readCertbotAccount reads one certbot account directory.
func readCertbotAccount(dir string) (*certbotAccount, error) {
	data, err := os.ReadFile(filepath.Join(dir, "private_key.json"))
	if err != nil {
		return nil, err
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("private_key.json: %w", err)
	}
	if jwk.IsPublic() {
		return nil, errors.New("private_key.json: a public key, not a private one")
	}
	signer, ok := jwk.Key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private_key.json: unsupported key type %T", jwk.Key)
	}
	a := &certbotAccount{dir: dir, id: filepath.Base(dir), key: signer, modTime: accountModTime(dir)}
	data, err = os.ReadFile(filepath.Join(dir, "regr.json"))
	switch {
	case err == nil:
		var regr struct {
			Body struct {
				Contact []string `json:"contact"`
			} `json:"body"`
			URI string `json:"uri"`
		}
		if err := json.Unmarshal(data, &regr); err != nil {
			return nil, fmt.Errorf("regr.json: %w", err)
		}
		a.location = regr.URI
		a.contact = regr.Body.Contact
	case errors.Is(err, os.ErrNotExist):
		// The account URL is then resolved by key.
	default:
		return nil, err
	}
	return a, nil
}

// certbotAccount returns the account certbot uses for the CA, or nil when
// there is none or none is readable. With several, the most recently
// modified one is taken.
func (i *Issuer) certbotAccount() *certbotAccount {
	dirs, err := findCertbotAccounts(i.cfg.AccountsDir, i.cfg.ServerID)
	if err != nil || len(dirs) == 0 {
		return nil
	}
	var best *certbotAccount
	for _, d := range dirs {
		a, err := readCertbotAccount(d)
		if err != nil {
			i.log.Warn("certbot's ACME account unreadable; not using it", "dir", d, "err", err)
			continue
		}
		if best == nil || a.modTime.After(best.modTime) {
			best = a
		}
	}
	if best != nil && len(dirs) > 1 {
		i.log.Info("several certbot ACME accounts for this CA; using the most recently modified", "dir", best.dir, "accounts", len(dirs))
	}
	return best
}

// writeSignerKey persists an account key as PEM (0600): SEC 1 for ECDSA
// (as writeKey), PKCS #8 for anything else (RSA keys from certbot).
func writeSignerKey(path string, key crypto.Signer) error {
	if k, ok := key.(*ecdsa.PrivateKey); ok {
		return writeKey(path, k)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}
