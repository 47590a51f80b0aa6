package clusterstate

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeyFileVar is the environment variable naming the state key file.
const KeyFileVar = "CERTDOCK_STATE_KEY_FILE"

// KeySize is the size of a state key: AES-256.
const KeySize = 32

// CreateKeyHint says how to create a key once, in a stack.
const CreateKeyHint = "create one once with: openssl rand -base64 32 | docker secret create certdock_state_key -"

// Key is the state key. Its String never shows the key, only its ID.
type Key struct {
	raw [KeySize]byte
	id  string
}

// String returns the key's ID, never its bytes.
func (k Key) String() string { return "state key " + k.id }

// ID identifies the key without revealing it: the first 8 bytes of an
// HMAC-SHA256 of a fixed text under the key, in hex. Sealed data records
// it, so data sealed with another key is recognised as such.
func (k Key) ID() string { return k.id }

// NewKey makes a Key of 32 bytes.
func NewKey(raw []byte) (Key, error) {
	if len(raw) != KeySize {
		return Key{}, fmt.Errorf("a state key is %d bytes, not %d", KeySize, len(raw))
	}
	var k Key
	copy(k.raw[:], raw)
	m := hmac.New(sha256.New, k.raw[:])
	m.Write([]byte("certdock state key id"))
	k.id = hex.EncodeToString(m.Sum(nil)[:8])
	return k, nil
}

// ParseKey reads a key file's content: 32 random bytes written as
// base64 (standard or URL alphabet, padded or not) or hex, surrounding
// white space ignored, or the 32 bytes themselves. Errors never quote the
// content.
func ParseKey(data []byte) (Key, error) {
	text := strings.TrimSpace(string(data))
	if text == "" {
		return Key{}, errors.New("the file is empty; " + CreateKeyHint)
	}
	decoders := []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString,
	}
	for _, dec := range decoders {
		if raw, err := dec(text); err == nil && len(raw) == KeySize {
			return NewKey(raw)
		}
	}
	if len(data) == KeySize {
		return NewKey(data)
	}
	return Key{}, fmt.Errorf("the file does not hold %d bytes written as base64 or hex (it may be truncated); %s", KeySize, CreateKeyHint)
}

// LoadKey reads the key file at path; errors name KeyFileVar and the path.
func LoadKey(path string) (Key, error) {
	if path == "" {
		return Key{}, fmt.Errorf("%s is not set: swarm state needs a key to encrypt private keys; %s, mount it in certdock's service and set %s=/run/secrets/certdock_state_key", KeyFileVar, CreateKeyHint, KeyFileVar)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("%s=%s: %w", KeyFileVar, path, err)
	}
	k, err := ParseKey(data)
	if err != nil {
		return Key{}, fmt.Errorf("%s=%s: %w", KeyFileVar, path, err)
	}
	return k, nil
}
