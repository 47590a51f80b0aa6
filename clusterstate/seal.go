package clusterstate

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
)

// Format is the version of the envelope and of the state records this
// certdock writes. A reader refuses a higher one (ErrNewer).
const Format = 1

// ErrWrongKey: the data was sealed with another key.
var ErrWrongKey = errors.New("sealed with another state key")

// ErrNewer: the data was written by a newer certdock.
var ErrNewer = errors.New("written by a newer certdock")

// ErrCorrupt: the data is not an intact envelope (truncated, altered, or
// moved to another object).
var ErrCorrupt = errors.New("sealed data does not authenticate")

// envelope is the JSON form of sealed data. Context binds the ciphertext
// to the object it belongs to (e.g. "lineage mail.example.com v3 key"):
// sealed data copied to another object does not open.
type envelope struct {
	Format     int    `json:"format"`
	KeyID      string `json:"key_id"`
	Nonce      []byte `json:"nonce"`
	Ciphertext []byte `json:"ciphertext"`
}

// Seal encrypts plaintext with AES-256-GCM under k, bound to context, and
// returns the envelope (JSON, safe to store in a Swarm config).
func (k Key) Seal(plaintext []byte, context string) ([]byte, error) {
	aead, err := k.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return json.Marshal(envelope{
		Format:     Format,
		KeyID:      k.id,
		Nonce:      nonce,
		Ciphertext: aead.Seal(nil, nonce, plaintext, additional(k.id, context)),
	})
}

// Open decrypts an envelope Seal made under k for the same context. It
// returns ErrNewer (a newer format), ErrWrongKey (the envelope names
// another key) or ErrCorrupt (anything else that does not authenticate),
// wrapped with what was found but never with data.
func (k Key) Open(sealed []byte, context string) ([]byte, error) {
	var env envelope
	if err := json.Unmarshal(sealed, &env); err != nil {
		return nil, fmt.Errorf("%w: not an envelope", ErrCorrupt)
	}
	if env.Format > Format {
		return nil, fmt.Errorf("%w: format %d, this certdock reads up to %d", ErrNewer, env.Format, Format)
	}
	if env.Format < 1 {
		return nil, fmt.Errorf("%w: format %d", ErrCorrupt, env.Format)
	}
	if env.KeyID != k.id {
		return nil, fmt.Errorf("%w: the data names key %s, %s holds key %s", ErrWrongKey, env.KeyID, KeyFileVar, k.id)
	}
	aead, err := k.aead()
	if err != nil {
		return nil, err
	}
	if len(env.Nonce) != aead.NonceSize() {
		return nil, fmt.Errorf("%w: bad nonce", ErrCorrupt)
	}
	plain, err := aead.Open(nil, env.Nonce, env.Ciphertext, additional(env.KeyID, context))
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", ErrCorrupt, context)
	}
	return plain, nil
}

func (k Key) aead() (cipher.AEAD, error) {
	if k.id == "" {
		return nil, errors.New("clusterstate: no state key")
	}
	block, err := aes.NewCipher(k.raw[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// additional is the AEAD's additional data: the format, the key ID and
// the context, so none can be changed without Open failing.
func additional(keyID, context string) []byte {
	return fmt.Appendf(nil, "certdock-state/%d/%s/%s", Format, keyID, context)
}
