package clusterstate

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(t testing.TB, b byte) Key {
	t.Helper()
	k, err := NewKey(bytes.Repeat([]byte{b}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xA5}, KeySize)
	want, _ := NewKey(raw)
	for _, tc := range []struct {
		name, text string
		ok         bool
	}{
		{"base64", base64.StdEncoding.EncodeToString(raw) + "\n", true},
		{"base64 raw url", base64.RawURLEncoding.EncodeToString(raw), true},
		{"hex", hex.EncodeToString(raw), true},
		{"raw bytes", string(raw), true},
		{"empty", "\n", false},
		{"truncated base64", base64.StdEncoding.EncodeToString(raw)[:30], false},
		{"16 bytes", base64.StdEncoding.EncodeToString(raw[:16]), false},
		{"text", "correct horse battery staple", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseKey([]byte(tc.text))
			if tc.ok != (err == nil) {
				t.Fatalf("ParseKey: %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && k.ID() != want.ID() {
				t.Fatalf("key ID %s, want %s", k.ID(), want.ID())
			}
			if err != nil && strings.Contains(err.Error(), strings.TrimSpace(tc.text)) && strings.TrimSpace(tc.text) != "" {
				t.Fatalf("error quotes the key file: %v", err)
			}
		})
	}
}

func TestLoadKeyErrorsNameTheVariable(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("c2hvcnQ="), 0o600)
	for _, path := range []string{"", filepath.Join(dir, "missing"), short} {
		_, err := LoadKey(path)
		if err == nil || !strings.Contains(err.Error(), KeyFileVar) {
			t.Errorf("LoadKey(%q): %v, want an error naming %s", path, err, KeyFileVar)
		}
	}
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize))), 0o600)
	if _, err := LoadKey(good); err != nil {
		t.Fatal(err)
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	k := testKey(t, 'k')
	for _, s := range []string{k.String(), k.ID()} {
		if strings.Contains(s, "kkkk") || strings.Contains(s, hex.EncodeToString([]byte("kkkk"))) {
			t.Fatalf("key material in %q", s)
		}
	}
}

func TestSealOpen(t *testing.T) {
	k, other := testKey(t, 1), testKey(t, 2)
	secret := []byte("-----BEGIN EC PRIVATE KEY-----\nsecret\n-----END EC PRIVATE KEY-----\n")
	sealed, err := k.Seal(secret, "lineage a.example v1 key")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("secret")) || bytes.Contains(sealed, []byte("PRIVATE")) {
		t.Fatal("the envelope holds plaintext")
	}
	again, _ := k.Seal(secret, "lineage a.example v1 key")
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of the same data are equal (nonce reused)")
	}
	got, err := k.Open(sealed, "lineage a.example v1 key")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open: %q, %v", got, err)
	}

	if _, err := other.Open(sealed, "lineage a.example v1 key"); !errors.Is(err, ErrWrongKey) {
		t.Errorf("another key: %v, want ErrWrongKey", err)
	} else if !strings.Contains(err.Error(), KeyFileVar) {
		t.Errorf("wrong-key error does not name %s: %v", KeyFileVar, err)
	}
	if _, err := k.Open(sealed, "lineage b.example v1 key"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("another context: %v, want ErrCorrupt", err)
	}
	if _, err := k.Open(sealed[:len(sealed)/2], "lineage a.example v1 key"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated: %v, want ErrCorrupt", err)
	}

	var env envelope
	json.Unmarshal(sealed, &env)
	env.Ciphertext[0] ^= 1
	flipped, _ := json.Marshal(env)
	if _, err := k.Open(flipped, "lineage a.example v1 key"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("altered: %v, want ErrCorrupt", err)
	}
	env.Ciphertext[0] ^= 1
	env.Format = Format + 1
	newer, _ := json.Marshal(env)
	if _, err := k.Open(newer, "lineage a.example v1 key"); !errors.Is(err, ErrNewer) {
		t.Errorf("newer format: %v, want ErrNewer", err)
	}
}

func FuzzOpen(f *testing.F) {
	k, _ := NewKey(bytes.Repeat([]byte{7}, KeySize))
	good, _ := k.Seal([]byte("data"), "ctx")
	f.Add(good)
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":9,"key_id":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		plain, err := k.Open(data, "ctx")
		if err == nil && !bytes.Equal(plain, []byte("data")) {
			// Only an envelope sealed under k for "ctx" may open; the
			// fuzzer cannot forge one.
			t.Fatalf("forged envelope opened: %q", plain)
		}
	})
}
