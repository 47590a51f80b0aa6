package store

import (
	"bytes"
	"testing"
)

// certAndBlock is firstCert and firstBlock, whatever surrounds the block.
func TestCertAndBlock(t *testing.T) {
	b := testBundle(t, bundleOpts{})
	c := string(b.Cert)
	for _, tt := range []struct{ name, data string }{
		{"canonical", c},
		{"with its chain", string(b.Fullchain())},
		{"text before", "subject=CN=x\n" + c},
		{"text after", c + "trailing\n"},
		{"no final line break", c[:len(c)-1]},
		{"Windows line breaks", string(bytes.ReplaceAll(b.Cert, []byte("\n"), []byte("\r\n")))},
		{"headers", "-----BEGIN CERTIFICATE-----\nX: y\n\n" + c[len("-----BEGIN CERTIFICATE-----\n"):]},
		{"a broken block first", "-----BEGIN CERTIFICATE-----\n!!\n" + c},
		{"key first", string(b.PrivateKey) + c},
		{"empty", ""},
	} {
		t.Run(tt.name, func(t *testing.T) { sameCertAndBlock(t, []byte(tt.data)) })
	}
}

// sameCertAndBlock fails unless certAndBlock(data) is firstCert(data)
// and firstBlock of it.
func sameCertAndBlock(t *testing.T, data []byte) {
	t.Helper()
	leaf, block, err := certAndBlock(data)
	want, wantErr := firstCert(data)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("error %v, firstCert's %v", err, wantErr)
	}
	if err != nil {
		return
	}
	if !leaf.Equal(want) {
		t.Fatal("another certificate than firstCert's")
	}
	if wantBlock := firstBlock(data, want); !bytes.Equal(block, wantBlock) {
		t.Fatalf("block %q, firstBlock's %q", block, wantBlock)
	}
}

func FuzzCertAndBlock(f *testing.F) {
	b := testBundle(f, bundleOpts{})
	f.Add(b.Cert)
	f.Add(b.Fullchain())
	f.Add(append([]byte("-----BEGIN CERTIFICATE-----\n!!\n"), b.Cert...))
	f.Fuzz(func(t *testing.T, data []byte) { sameCertAndBlock(t, data) })
}
