package issuer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/acme/api"
	"github.com/go-acme/lego/v5/registration"
)

// account is an ACME account persisted under
// accounts/<host>/<directory path>/certdock/ as account.json (registration
// URL, contact) and private_key.pem (0600). The layout mirrors certbot's
// accounts/<server>/<path>/<id>/ so both tools can share a volume.
type account struct {
	ID       string `json:"id"`
	Email    string `json:"email,omitempty"`
	Location string `json:"location"`
	Server   string `json:"server"`

	key crypto.Signer
}

// legoUser adapts an account to lego's registration.User.
type legoUser struct{ a *account }

func (u legoUser) GetEmail() string                       { return u.a.Email }
func (u legoUser) GetPrivateKey() crypto.Signer           { return u.a.key }
func (u legoUser) GetRegistration() *acme.ExtendedAccount { return nil }

// accountDir returns the directory holding the account for a CA.
func accountDir(root, directoryURL string) (string, error) {
	u, err := url.Parse(directoryURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("invalid ACME directory URL %q", directoryURL)
	}
	host := strings.ReplaceAll(u.Host, ":", "_")
	p := strings.Trim(u.Path, "/")
	if p == "" {
		p = "directory"
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "." || part == "" {
			return "", fmt.Errorf("invalid ACME directory URL path %q", u.Path)
		}
	}
	return filepath.Join(root, host, filepath.FromSlash(p), "certdock"), nil
}

// loadOrRegister returns the persisted account for the configured CA,
// registering (once) when none exists. A key persisted without a
// registration (crash between the two) is resolved by key, not
// re-registered with a new key.
func (i *Issuer) loadOrRegister(ctx context.Context) (*account, error) {
	dir, err := accountDir(i.cfg.AccountsDir, i.cfg.ServerID)
	if err != nil {
		return nil, err
	}
	keyPath := filepath.Join(dir, "private_key.pem")
	metaPath := filepath.Join(dir, "account.json")

	key, err := readKey(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// No account of our own: take over certbot's for the same CA,
		// copied into our files so later starts need only ours.
		if cb := i.certbotAccount(); cb != nil {
			if err := writeSignerKey(keyPath, cb.key); err != nil {
				return nil, fmt.Errorf("account: %w", err)
			}
			i.log.Info("using certbot's ACME account", "dir", cb.dir, "account", cb.location, "server", i.cfg.DirectoryURL)
			key = cb.key
			if cb.location != "" {
				acct := &account{key: key, Email: i.cfg.Email, Server: i.cfg.DirectoryURL, Location: cb.location}
				if err := i.saveAccount(acct, metaPath); err != nil {
					return nil, err
				}
				return acct, nil
			}
			// Without regr.json's URL, the account is resolved by key below.
			os.Remove(metaPath)
			break
		}
		k, gerr := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if gerr != nil {
			return nil, gerr
		}
		key = k
		if err := writeKey(keyPath, k); err != nil {
			return nil, fmt.Errorf("account: %w", err)
		}
	case err != nil:
		// An unreadable key cannot be recovered: keep it aside for the
		// operator and start a new account rather than failing forever.
		aside := keyPath + ".unreadable"
		i.log.Warn("ACME account key unreadable: registering a new account (the old file is kept aside)", "file", keyPath, "moved_to", aside, "err", err)
		if rerr := os.Rename(keyPath, aside); rerr != nil {
			return nil, fmt.Errorf("account key %s: %w (and it cannot be moved aside: %v)", keyPath, err, rerr)
		}
		os.Rename(metaPath, metaPath+".unreadable")
		k, gerr := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if gerr != nil {
			return nil, gerr
		}
		key = k
		if err := writeKey(keyPath, k); err != nil {
			return nil, fmt.Errorf("account: %w", err)
		}
	}

	acct := &account{key: key, Email: i.cfg.Email, Server: i.cfg.DirectoryURL}
	if data, err := os.ReadFile(metaPath); err == nil {
		if json.Unmarshal(data, acct) == nil && acct.Location != "" && acct.Server == i.cfg.DirectoryURL {
			i.log.Debug("using existing ACME account", "account", acct.ID, "server", acct.Server)
			return acct, nil
		}
		i.log.Warn("account file unreadable; resolving the account by its key", "file", metaPath)
	}

	core, err := api.New(i.httpClient(), i.cfg.UserAgent, i.cfg.DirectoryURL, "", key)
	if err != nil {
		return nil, fmt.Errorf("ACME directory %s: %w", i.cfg.DirectoryURL, err)
	}
	reg := registration.NewRegistrar(core, legoUser{acct})
	var ext *acme.ExtendedAccount
	if existing, err := reg.ResolveAccountByKey(ctx); err == nil && existing != nil && existing.Location != "" {
		ext = existing
	} else if i.cfg.EABKID != "" {
		ext, err = reg.RegisterWithExternalAccountBinding(ctx, registration.RegisterEABOptions{
			TermsOfServiceAgreed: true, Kid: i.cfg.EABKID, HmacEncoded: i.cfg.EABHMAC,
		})
		if err != nil {
			return nil, eabError(fmt.Errorf("register account (EAB, check ACME_EAB_KID/ACME_EAB_HMAC): %w", err))
		}
	} else {
		ext, err = reg.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true})
		if problemType(err) == acme.ExternalAccountRequiredErrorType {
			return nil, fmt.Errorf("register account: %w (the CA requires External Account Binding: set ACME_EAB_KID and ACME_EAB_HMAC to the key ID and HMAC key it gave you)", err)
		}
		if err != nil {
			return nil, fmt.Errorf("register account: %w", err)
		}
	}
	acct.Location = ext.Location
	if err := i.saveAccount(acct, metaPath); err != nil {
		return nil, err
	}
	i.log.Info("registered ACME account", "account", acct.ID, "server", acct.Server, "contact", acct.Email != "")
	return acct, nil
}

// saveAccount sets the account's ID from its URL and writes account.json.
func (i *Issuer) saveAccount(acct *account, metaPath string) error {
	sum := sha256.Sum256([]byte(acct.Location))
	acct.ID = hex.EncodeToString(sum[:16])
	data, err := json.MarshalIndent(acct, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(metaPath, data, 0o600); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return nil
}

func readKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if rk, rerr := x509.ParsePKCS1PrivateKey(block.Bytes); rerr == nil {
			return rk, nil
		}
		return nil, errors.New("unsupported private key encoding")
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("unsupported private key type")
	}
	return s, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

// writeFileAtomic writes via a temporary file, fsync and rename.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// eabError classifies a failed registration with External Account Binding:
// the CA refusing the binding (a 4xx answer other than a rate limit) or an
// HMAC key that does not decode is a setting to fix (KindConfig); anything
// else (network, CA 5xx) is classified as usual.
func eabError(err error) error {
	var pd *acme.ProblemDetails
	if errors.As(err, &pd) {
		if pd.HTTPStatus >= 400 && pd.HTTPStatus < 500 && pd.Type != acme.RateLimitedErrorType && pd.Type != acme.BadNonceErrorType {
			return &Error{Kind: KindConfig, Err: err}
		}
		return err
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return err
	}
	return &Error{Kind: KindConfig, Err: err}
}
