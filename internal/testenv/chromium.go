package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// chromiumTimeout bounds one headless run (a page load and its dump or
// screenshot).
const chromiumTimeout = 90 * time.Second

// Chromium is Debian's chromium, run headless to look at pages the way a
// user's browser does.
type Chromium struct {
	// Path is the browser's executable.
	Path string
}

// StartChromium finds Debian's chromium (or chromium-browser), or skips
// the test naming the package (fails it under CI=true). Each run starts a
// browser of its own, with its own profile directory, and stops it and
// every process it forked before returning.
func StartChromium(t testing.TB) *Chromium {
	t.Helper()
	RequireE2E(t)
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := findBinary(name); err == nil {
			return &Chromium{Path: p}
		}
	}
	unavailable(t, "chromium not found in PATH (Debian package chromium: apt-get install chromium)")
	return nil
}

// DumpDOM loads url and returns the DOM as the browser built it (after
// parsing and running whatever the page would run), serialised as HTML.
func (c *Chromium) DumpDOM(t testing.TB, url string) string {
	t.Helper()
	return string(c.run(t, "--dump-dom", url))
}

// Screenshot loads url in a window of width×height pixels and writes a PNG
// of it to path.
func (c *Chromium) Screenshot(t testing.TB, url, path string, width, height int) {
	t.Helper()
	c.run(t, "--screenshot="+path, fmt.Sprintf("--window-size=%d,%d", width, height), url)
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("testenv: chromium wrote no screenshot at %s: %v", path, err)
	}
}

// run runs one headless browser with args and returns its standard
// output; it fails t when the browser fails or outlives chromiumTimeout.
func (c *Chromium) run(t testing.TB, args ...string) []byte {
	t.Helper()
	profile := t.TempDir()
	argv := []string{
		"--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
		"--user-data-dir=" + filepath.Join(profile, "profile"),
	}
	if os.Geteuid() == 0 {
		argv = append(argv, "--no-sandbox") // chromium refuses to run as root with its sandbox
	}
	argv = append(argv, args...)
	ctx, cancel := context.WithTimeout(context.Background(), chromiumTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Path, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "HOME="+profile)
	cmd.SysProcAttr = groupProcAttr()
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
		// The browser's helpers (zygote, GPU and network processes) share
		// its group: none outlives the run.
		_ = killGroup(cmd.Process.Pid)
	}
	if ctx.Err() != nil {
		err = errors.Join(err, fmt.Errorf("still running after %v", chromiumTimeout))
	}
	if err != nil {
		t.Fatalf("testenv: chromium %v: %v\n%s", args, err, tail(stderr.String(), 30))
	}
	return stdout.Bytes()
}
