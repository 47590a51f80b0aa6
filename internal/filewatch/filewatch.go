// Package filewatch tells when the content of one file changes, however it
// is changed: written in place, replaced by an editor's rename, deleted and
// recreated, or changed behind a Docker bind mount.
//
// It watches the file's directory with fsnotify, so a rename over the file
// is seen, and also hashes the file every poll interval, which catches what
// inotify cannot: a bind-mounted file whose host side was replaced, a
// directory that did not exist yet, lost events. Only a change of content
// is reported, never a write of the same bytes. The package does not log.
package filewatch

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Debounce is how long Watch waits after a file-system event before
// reading the file, so a burst of events (truncate, write, write, rename)
// costs one read and at most one call.
const Debounce = 100 * time.Millisecond

// options are knobs for tests.
type options struct {
	noNotify bool   // do not use fsnotify: polling alone
	ready    func() // called once the first state is read and the watch is set up
}

// Watch calls onChange each time the content of the file at path changes,
// until ctx ends; it then returns nil. Appearing and disappearing count as
// changes; the content present when Watch starts does not. Events in the
// file's directory are acted on after Debounce, and the file is also
// re-read every poll, so a change is seen within poll even when no event
// arrives. When the directory cannot be watched (it does not exist yet,
// or inotify's limits are reached) Watch relies on polling and tries to
// watch again at every poll.
//
// onChange is called from Watch's goroutine, one call at a time; it should
// return quickly (mark something dirty, send on a buffered channel). A
// file that cannot be read for another reason than not existing (say,
// permission denied) keeps its last known state.
//
// Watch returns an error only for invalid arguments: an empty path, a
// poll that is not positive, or a nil onChange.
func Watch(ctx context.Context, path string, poll time.Duration, onChange func()) error {
	return watch(ctx, path, poll, onChange, options{})
}

// state is what is known of the file's content.
type state struct {
	exists bool
	sum    [sha256.Size]byte
}

func watch(ctx context.Context, path string, poll time.Duration, onChange func(), opts options) error {
	switch {
	case path == "":
		return errors.New("filewatch: empty path")
	case poll <= 0:
		return errors.New("filewatch: poll interval must be positive")
	case onChange == nil:
		return errors.New("filewatch: nil onChange")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	dw := &dirWatch{dir: filepath.Dir(abs), base: filepath.Base(abs), disabled: opts.noNotify}
	defer dw.close()
	dw.ensure()

	last, _ := read(abs)
	if opts.ready != nil {
		opts.ready()
	}
	check := func() {
		cur, ok := read(abs)
		if !ok || cur == last {
			return
		}
		last = cur
		onChange()
	}

	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	var debounce *time.Timer
	var debounceC <-chan time.Time
	defer func() {
		if debounce != nil {
			debounce.Stop()
		}
	}()
	// schedule reads the file Debounce after the first event of a burst;
	// later events of the burst ride on the same timer.
	schedule := func() {
		if debounceC != nil {
			return
		}
		if debounce == nil {
			debounce = time.NewTimer(Debounce)
		} else {
			debounce.Reset(Debounce)
		}
		debounceC = debounce.C
	}

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			dw.ensure()
			check()
		case <-debounceC:
			debounceC = nil
			check()
		case ev, ok := <-dw.events():
			if !ok { // the watcher died: start afresh at the next poll
				dw.close()
				continue
			}
			if filepath.Clean(ev.Name) == dw.dir {
				// The directory itself was removed or renamed away: watch
				// whatever is at its path now.
				dw.broken()
				dw.ensure()
				schedule()
				continue
			}
			if dw.relevant(ev.Name) {
				schedule()
			}
		case _, ok := <-dw.errors():
			if !ok {
				dw.close()
				continue
			}
			// Events may have been lost (queue overflow): look now.
			schedule()
		}
	}
}

// read hashes the file's content. ok is false when the file exists but
// cannot be read; a missing file is a valid state.
func read(path string) (s state, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return state{}, missing(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return state{}, missing(err)
	}
	s.exists = true
	h.Sum(s.sum[:0])
	return s, true
}

// missing reports whether err means the file is not there: it does not
// exist, or a directory on its path is not one.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// dirWatch is an fsnotify watch on the file's directory, re-established
// when the directory appears or is replaced.
type dirWatch struct {
	dir, base string
	disabled  bool

	w        *fsnotify.Watcher
	watching os.FileInfo // the directory as watched; nil when not watching
	symlink  bool        // the file is a symlink: any event in dir may matter
}

// ensure sets up or repairs the watch. Failures leave polling alone.
func (d *dirWatch) ensure() {
	if d.disabled {
		return
	}
	if fi, err := os.Lstat(filepath.Join(d.dir, d.base)); err == nil {
		d.symlink = fi.Mode()&fs.ModeSymlink != 0
	}
	if d.w == nil {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			return
		}
		d.w = w
	}
	fi, err := os.Stat(d.dir)
	if err != nil {
		d.broken()
		return
	}
	if d.watching != nil && os.SameFile(fi, d.watching) {
		return
	}
	d.broken()
	if err := d.w.Add(d.dir); err != nil {
		return
	}
	d.watching = fi
}

// broken forgets the directory watch, so the next ensure sets it up again.
func (d *dirWatch) broken() {
	if d.w != nil && d.watching != nil {
		_ = d.w.Remove(d.dir) // gone already when the directory was removed
	}
	d.watching = nil
}

// relevant reports whether an event for name may change the file.
func (d *dirWatch) relevant(name string) bool {
	if d.symlink {
		// Kubernetes-style updates swap a symlink elsewhere in the
		// directory ("..data"); the content check filters the rest.
		return true
	}
	return filepath.Base(name) == d.base && filepath.Dir(name) == d.dir
}

// events is the watcher's event channel, or nil (blocks forever).
func (d *dirWatch) events() <-chan fsnotify.Event {
	if d.w == nil {
		return nil
	}
	return d.w.Events
}

// errors is the watcher's error channel, or nil (blocks forever).
func (d *dirWatch) errors() <-chan error {
	if d.w == nil {
		return nil
	}
	return d.w.Errors
}

// close stops the watcher and forgets it.
func (d *dirWatch) close() {
	if d.w != nil {
		_ = d.w.Close()
	}
	d.w, d.watching = nil, nil
}
