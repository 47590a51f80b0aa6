package store

import (
	"maps"
	"os"
	"path/filepath"
	"testing"
)

func TestAccountFiles(t *testing.T) {
	src, dst := New(t.TempDir(), Options{}), New(t.TempDir(), Options{})
	if files, err := src.AccountFiles(); err != nil || len(files) != 0 {
		t.Fatalf("no accounts: %v, %v", files, err)
	}
	want := map[string][]byte{
		"accounts/acme.example/dir/certdock/account.json":    []byte(`{"id":"x"}`),
		"accounts/acme.example/dir/certdock/private_key.pem": []byte("key"),
	}
	for p, data := range want {
		if err := src.WriteAccountFile(p, data); err != nil {
			t.Fatal(err)
		}
	}
	got, err := src.AccountFiles()
	if err != nil || !maps.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("read back: %v, %v", got, err)
	}
	for p, data := range got {
		if err := dst.WriteAccountFile(p, data); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(dst.Root(), "accounts/acme.example/dir/certdock/private_key.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("copied key: %v, %v", fi, err)
	}
	for _, bad := range []string{"../x", "accounts/../live/a/cert.pem", "live/a.example/cert.pem", "accounts/a/./b", "accounts/.tmp"} {
		if err := dst.WriteAccountFile(bad, []byte("x")); err == nil {
			t.Errorf("WriteAccountFile(%q) accepted", bad)
		}
	}
}
