package memtrim

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
)

// Mapping is one line of /proc/PID/maps.
type Mapping struct {
	Start, End uintptr
	Perms      string
	Path       string
}

// ParseMaps reads the lines of /proc/PID/maps: a pure function.
func ParseMaps(data []byte) ([]Mapping, error) {
	var out []Mapping
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 5 {
			continue
		}
		lo, hi, ok := bytes.Cut(f[0], []byte("-"))
		if !ok {
			return nil, fmt.Errorf("memtrim: bad maps range %q", f[0])
		}
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || end < start {
			return nil, fmt.Errorf("memtrim: bad maps range %q", f[0])
		}
		m := Mapping{Start: uintptr(start), End: uintptr(end), Perms: string(f[1])}
		if len(f) >= 6 {
			m.Path = string(bytes.Join(f[5:], []byte(" ")))
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// Releasable picks the mappings of the executable at exe that are never
// written (read-only code and data: perms without 'w'), so dropping their
// pages loses nothing: a pure function.
func Releasable(maps []Mapping, exe string) []Mapping {
	var out []Mapping
	for _, m := range maps {
		if m.Path == exe && len(m.Perms) >= 2 && m.Perms[1] != 'w' && m.End > m.Start {
			out = append(out, m)
		}
	}
	return out
}

// Release pages out the read-only mappings of the running executable and
// returns freed heap to the system. It returns how many bytes of mappings
// it advised; errors are not fatal (an older kernel ignores the advice).
func Release() (int64, error) {
	debug.FreeOSMemory()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("memtrim: %w", err)
	}
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("memtrim: %w", err)
	}
	maps, err := ParseMaps(data)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, m := range Releasable(maps, exe) {
		if err := pageOut(m.Start, m.End-m.Start); err != nil {
			return n, fmt.Errorf("memtrim: madvise %s %x-%x: %w", m.Perms, m.Start, m.End, err)
		}
		n += int64(m.End - m.Start)
	}
	return n, nil
}
