package filewatch

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Within is how soon a change must be reported.
const within = 500 * time.Millisecond

// recorder counts onChange calls.
type recorder struct {
	mu    sync.Mutex
	calls int
	ch    chan struct{}
}

func (r *recorder) onChange() {
	r.mu.Lock()
	r.calls++
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// waitFor waits until at least n calls were made, failing after within.
func (r *recorder) waitFor(t *testing.T, n int, what string) {
	t.Helper()
	deadline := time.After(within)
	for r.count() < n {
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("%s: %d calls after %v, want %d", what, r.count(), within, n)
		}
	}
}

// still checks that the count stays at n for d.
func (r *recorder) still(t *testing.T, n int, d time.Duration, what string) {
	t.Helper()
	time.Sleep(d)
	if got := r.count(); got != n {
		t.Fatalf("%s: %d calls, want %d", what, got, n)
	}
}

// start runs watch until the test ends, and checks that it then returns nil.
func start(t *testing.T, path string, poll time.Duration, opts options) *recorder {
	t.Helper()
	r := &recorder{ch: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	opts.ready = func() { close(ready) }
	done := make(chan error, 1)
	go func() { done <- watch(ctx, path, poll, r.onChange, opts) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("watch returned early: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("watch returned %v after cancel", err)
			}
		case <-time.After(2 * time.Second):
			t.Error("watch did not return after cancel")
		}
	})
	return r
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replace writes content to a temporary file and renames it over path,
// as editors and atomic writers do.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	write(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

const hour = time.Hour // a poll that never fires during a test

func TestInPlaceRewrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "domains.conf")
	write(t, path, "a.example.com\n")
	r := start(t, path, hour, options{})

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("b.example.com\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r.waitFor(t, 1, "append")
	write(t, path, "c.example.com\n") // truncate and write, same inode
	r.waitFor(t, 2, "rewrite")
	r.still(t, 2, 2*Debounce, "after rewrite")
}

func TestReplaceByRename(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "domains.conf")
	write(t, path, "a.example.com\n")
	r := start(t, path, hour, options{})

	replace(t, path, "b.example.com\n")
	r.waitFor(t, 1, "rename over")
	replace(t, path, "c.example.com\n") // the watch survives the first rename
	r.waitFor(t, 2, "second rename over")
}

func TestDeleteAndRecreate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "domains.conf")
	write(t, path, "a.example.com\n")
	r := start(t, path, hour, options{})

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 1, "delete")
	write(t, path, "a.example.com\n") // same bytes as before, but it was gone
	r.waitFor(t, 2, "recreate")
	r.still(t, 2, 2*Debounce, "after recreate")
}

func TestFileAppears(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "domains.conf")
	r := start(t, path, hour, options{})
	write(t, path, "")
	r.waitFor(t, 1, "create empty file")
}

func TestSameContentIsNotAChange(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "domains.conf")
	write(t, path, "a.example.com\n")
	r := start(t, path, 50*time.Millisecond, options{})

	write(t, path, "a.example.com\n")
	replace(t, path, "a.example.com\n")
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := os.Chtimes(path, now, now); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(filepath.Dir(path), "other.conf"), "x") // another file in the directory
	r.still(t, 0, 4*Debounce, "identical content")
}

func TestDebounce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "domains.conf")
	write(t, path, "0")
	r := start(t, path, hour, options{})

	for i := range 20 {
		write(t, path, string(rune('a'+i)))
	}
	r.waitFor(t, 1, "burst")
	time.Sleep(3 * Debounce)
	// One call for the burst; two if it straddled the debounce timer.
	if n := r.count(); n > 2 {
		t.Errorf("%d calls for one burst of 20 writes", n)
	}
}

func TestPollingAlone(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "domains.conf")
	write(t, path, "a.example.com\n")
	// As for a bind-mounted file whose host side was replaced: no event
	// ever arrives, only the content changes.
	r := start(t, path, 50*time.Millisecond, options{noNotify: true})

	write(t, path, "b.example.com\n")
	r.waitFor(t, 1, "in-place write, polling")
	replace(t, path, "c.example.com\n")
	r.waitFor(t, 2, "rename over, polling")
	write(t, path, "c.example.com\n")
	r.still(t, 2, 3*50*time.Millisecond, "same content, polling")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 3, "delete, polling")
}

func TestDirectoryMissingAtStart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "later")
	path := filepath.Join(dir, "domains.conf")
	// fsnotify cannot watch a directory that does not exist: polling
	// notices the file, and the watch is set up once the directory exists.
	r := start(t, path, 50*time.Millisecond, options{})

	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, path, "a.example.com\n")
	r.waitFor(t, 1, "file in a new directory")
}

func TestDirectoryReplaced(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "conf")
	path := filepath.Join(dir, "domains.conf")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, path, "a.example.com\n")
	r := start(t, path, 100*time.Millisecond, options{})

	staged := filepath.Join(root, "conf.new")
	if err := os.Mkdir(staged, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(staged, "domains.conf"), "b.example.com\n")
	if err := os.Rename(dir, filepath.Join(root, "conf.old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(staged, dir); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 1, "directory swapped")
	// Give the next poll time to watch the new directory, then check
	// that events from it arrive.
	time.Sleep(150 * time.Millisecond)
	write(t, filepath.Join(root, "conf.old", "domains.conf"), "old directory\n")
	write(t, path, "c.example.com\n")
	r.waitFor(t, 2, "write in the new directory")
	r.still(t, 2, 2*Debounce, "after the write")
}

func TestSymlinkSwap(t *testing.T) {
	t.Parallel()
	// The layout Kubernetes uses for mounted ConfigMaps: the file is a
	// symlink through "..data", which is swapped atomically.
	dir := t.TempDir()
	for _, v := range []string{"..v1", "..v2"} {
		if err := os.Mkdir(filepath.Join(dir, v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "..v1", "domains.conf"), "a.example.com\n")
	write(t, filepath.Join(dir, "..v2", "domains.conf"), "b.example.com\n")
	if err := os.Symlink("..v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "domains.conf")
	if err := os.Symlink("..data/domains.conf", path); err != nil {
		t.Fatal(err)
	}
	r := start(t, path, hour, options{})

	if err := os.Symlink("..v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 1, "symlink swap")
}

func TestUnreadableKeepsState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "domains.conf")
	write(t, path, "a.example.com\n")
	r := start(t, path, 50*time.Millisecond, options{})

	// A directory in the file's place cannot be read as a file: not a
	// change, and not "missing" either.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 1, "delete")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	r.still(t, 1, 3*50*time.Millisecond, "directory in place of the file")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	write(t, path, "b.example.com\n")
	r.waitFor(t, 2, "file back")
}

func TestInvalidArguments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	noop := func() {}
	tests := []struct {
		name     string
		path     string
		poll     time.Duration
		onChange func()
	}{
		{name: "empty path", path: "", poll: time.Second, onChange: noop},
		{name: "zero poll", path: "x", poll: 0, onChange: noop},
		{name: "negative poll", path: "x", poll: -time.Second, onChange: noop},
		{name: "nil onChange", path: "x", poll: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Watch(ctx, tt.path, tt.poll, tt.onChange); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestWatchReturnsNilWhenContextEnds(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "domains.conf")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := Watch(ctx, path, time.Hour, func() {}); err != nil {
		t.Errorf("Watch = %v, want nil", err)
	}
}

// Not parallel: it counts every goroutine in the process.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, opts := range []options{{}, {noNotify: true}, {}} {
		path := filepath.Join(dir, "f"+string(rune('0'+i)))
		write(t, path, "x")
		wg.Go(func() {
			if err := watch(ctx, path, 10*time.Millisecond, func() {}, opts); err != nil {
				t.Error(err)
			}
		})
		write(t, path, "y")
	}
	time.Sleep(50 * time.Millisecond)
	cancel()
	wg.Wait()
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
