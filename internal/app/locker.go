package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/controller"
)

// fileLocker serialises work on one certificate across processes with an
// flock(2) on CERTDOCK_DIR/certdock/locks/<name>.lock, so `certdock renew
// --force` next to a running daemon never places two orders at once.
type fileLocker struct{ dir string }

var _ controller.Locker = fileLocker{}

// Lock waits for the lock (polling, so ctx can cancel the wait).
func (l fileLocker) Lock(ctx context.Context, name string) (func(), error) {
	if err := cert.ValidName(name); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(l.dir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
