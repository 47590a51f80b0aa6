package memtrim

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

const maps = `00400000-00e5c000 r-xp 00000000 fd:01 123 /usr/bin/certdock
00e5c000-02187000 r--p 00a5c000 fd:01 123 /usr/bin/certdock
02187000-021f9000 rw-p 01d87000 fd:01 123 /usr/bin/certdock
021f9000-0224c000 rw-p 00000000 00:00 0
c000000000-c000400000 rw-p 00000000 00:00 0
7f0000000000-7f0000001000 r--p 00000000 fd:01 9 /usr/lib/with space.so
7ffd1000-7ffd2000 r-xp 00000000 00:00 0 [vdso]
`

func TestReleasable(t *testing.T) {
	ms, err := ParseMaps([]byte(maps))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 7 || ms[5].Path != "/usr/lib/with space.so" || ms[0].Start != 0x400000 || ms[0].End != 0xe5c000 {
		t.Fatalf("parsed %+v", ms)
	}
	got := Releasable(ms, "/usr/bin/certdock")
	if len(got) != 2 || got[0].Perms != "r-xp" || got[1].Perms != "r--p" {
		t.Fatalf("releasable %+v, want the code and read-only data only", got)
	}
	if _, err := ParseMaps([]byte("zz-00 r--p 0 0 0 /x\n")); err == nil {
		t.Error("a bad range was accepted")
	}
}

// Release really shrinks the resident file-backed pages of this test
// binary, which keeps running correctly afterwards.
func TestReleaseShrinksResidentExecutable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc and MADV_PAGEOUT are Linux's")
	}
	before := rssFile(t)
	n, err := Release()
	if err != nil || n == 0 {
		t.Fatalf("Release: %d bytes, %v", n, err)
	}
	after := rssFile(t)
	t.Logf("RssFile %d kB → %d kB (%d kB of mappings advised)", before, after, n>>10)
	if after >= before {
		t.Errorf("RssFile did not shrink: %d kB → %d kB", before, after)
	}
	if s := strings.Repeat("ok", 2); s != "okok" { // code runs again after its pages were dropped
		t.Fatal(s)
	}
}

func rssFile(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no RssFile")
	return 0
}
