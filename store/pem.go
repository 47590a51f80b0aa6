package store

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"

	"github.com/certdock/certdock/cert"
)

const pemCertificate = "CERTIFICATE"

// firstCert parses the first PEM block of data, which must be a certificate.
func firstCert(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	return certOf(b)
}

// certAndBlock is firstCert and firstBlock of a certificate file together,
// decoding its PEM once instead of three times when data starts with the
// block and holds no other "-----BEGIN" up to its end: firstBlock would
// decode that same text twice more, to the same block. (Decoding PEM
// took as long as parsing the certificate.)
func certAndBlock(data []byte) (*x509.Certificate, []byte, error) {
	b, rest := pem.Decode(data)
	leaf, err := certOf(b)
	if err != nil {
		return nil, nil, err
	}
	block := data[:len(data)-len(rest)]
	if len(b.Headers) == 0 && bytes.HasPrefix(data, []byte("-----BEGIN ")) && bytes.Count(block, []byte("-----BEGIN")) == 1 {
		return leaf, bytes.Clone(block), nil
	}
	return leaf, firstBlock(data, leaf), nil
}

// certOf parses a PEM block (nil when there was none), which must be a
// certificate.
func certOf(b *pem.Block) (*x509.Certificate, error) {
	if b == nil {
		return nil, errors.New("no PEM block found")
	}
	if b.Type != pemCertificate {
		return nil, fmt.Errorf("first PEM block is %.40q, not a certificate", b.Type)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certificate does not parse: %v", err)
	}
	return c, nil
}

// allCerts parses every PEM block of data; each must be a certificate.
// Empty input gives no certificates and no error.
func allCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != pemCertificate {
			return nil, fmt.Errorf("PEM block %d is %.40q, not a certificate", len(out)+1, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %v", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 && len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return out, nil
}

// parseKey parses the first private key in PEM data: SEC 1 ("EC PRIVATE
// KEY"), PKCS #8 ("PRIVATE KEY") or PKCS #1 ("RSA PRIVATE KEY"). An "EC
// PARAMETERS" block before the key, as openssl writes it, is skipped. Errors
// never carry key bytes or parser details about them.
func parseKey(data []byte) (crypto.Signer, error) {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PEM private key found")
		}
		if b.Type == "EC PARAMETERS" {
			continue
		}
		if _, encrypted := b.Headers["Proc-Type"]; encrypted {
			return nil, errors.New("encrypted private keys are not supported")
		}
		var (
			key any
			err error
		)
		switch b.Type {
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			return nil, fmt.Errorf("PEM block %.40q is not a private key", b.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%s block does not parse", b.Type)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported private key type %T", key)
		}
		return signer, nil
	}
}

// keyMatches reports whether key is the private half of the leaf's public key.
func keyMatches(leaf *x509.Certificate, key crypto.Signer) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(leaf.PublicKey)
}

// keyTypeOf names a public key in ACME_KEY_TYPE spelling; it returns "" for
// keys certdock does not issue (other curves, odd RSA sizes, Ed25519).
func keyTypeOf(pub any) cert.KeyType {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return cert.EC256
		case elliptic.P384():
			return cert.EC384
		}
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return cert.RSA2048
		case 3072:
			return cert.RSA3072
		case 4096:
			return cert.RSA4096
		case 8192:
			return cert.RSA8192
		}
	}
	return ""
}

// encodeCert returns the canonical PEM of one certificate.
func encodeCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: c.Raw})
}

// version is the content of one archive version, ready to write.
type version struct {
	leaf  *x509.Certificate
	files map[string][]byte // by kind
}

// prepare validates a bundle and lays out the four files of a version. The
// leaf is the first certificate of b.Cert; the chain is b.Chain, or, when
// that is empty, the certificates following the leaf in b.Cert (some ACME
// clients return the whole chain as "the certificate").
func prepare(b cert.Bundle) (*version, error) {
	certs, err := allCerts(b.Cert)
	if err != nil {
		return nil, fmt.Errorf("certificate: %v", err)
	}
	if len(certs) == 0 {
		return nil, errors.New("certificate: no PEM certificate found")
	}
	chain, err := allCerts(b.Chain)
	if err != nil {
		return nil, fmt.Errorf("chain: %v", err)
	}
	if len(chain) == 0 {
		chain = certs[1:]
	}
	key, err := parseKey(b.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("private key: %v", err)
	}
	leaf := certs[0]
	if !keyMatches(leaf, key) {
		return nil, errors.New("private key does not match the certificate")
	}
	certPEM := encodeCert(leaf)
	var chainPEM []byte
	for _, c := range chain {
		chainPEM = append(chainPEM, encodeCert(c)...)
	}
	keyPEM := b.PrivateKey
	if len(keyPEM) > 0 && keyPEM[len(keyPEM)-1] != '\n' {
		keyPEM = append(keyPEM[:len(keyPEM):len(keyPEM)], '\n')
	}
	return &version{
		leaf: leaf,
		files: map[string][]byte{
			"cert":      certPEM,
			"chain":     chainPEM,
			"fullchain": slices.Concat(certPEM, chainPEM),
			"privkey":   keyPEM,
		},
	}, nil
}
