package bench

import (
	"bufio"
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certdock/certdock/internal/memtrim"
	"github.com/certdock/certdock/internal/testenv"
)

// BenchmarkStartupFootprint profiles what package initialisation costs the
// all-provider binary (built as the Dockerfile builds it, but keeping its
// symbol table, which is not loaded and moves no address):
//
//   - heap: `certdock version` under GODEBUG=inittrace=1; it reports the
//     bytes, allocations and time of all packages' init and logs the
//     largest;
//   - pages: `certdock run` with one certificate whose ACME server accepts
//     connections and never answers, so that the first pass (after which
//     memtrim gives the pages back) is held; /proc/PID/pagemap then says
//     which pages of the executable are resident, and the symbol table to
//     which package each resident byte belongs. It reports the resident
//     MiB of the executable and of its largest sections, and logs the
//     packages with the most resident bytes.
//
// Run it with -benchtime 1x.
func BenchmarkStartupFootprint(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "certdock")
	buildCertdock(b, bin, "-trimpath", "-tags", "timetzdata")
	for b.Loop() {
		initHeap(b, bin)
		startupPages(b, bin)
	}
}

// initRecord is one line of GODEBUG=inittrace=1.
type initRecord struct {
	pkg           string
	bytes, allocs int64
	clockMillis   float64
}

// parseInitTrace reads the "init PKG @T ms, C ms clock, B bytes, A allocs"
// lines of GODEBUG=inittrace=1 output, skipping every other line: a pure
// function.
func parseInitTrace(out []byte) ([]initRecord, error) {
	var recs []initRecord
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 11 || f[0] != "init" || f[6] != "clock," || f[8] != "bytes," || f[10] != "allocs" {
			continue
		}
		clock, err1 := strconv.ParseFloat(f[4], 64)
		n, err2 := strconv.ParseInt(f[7], 10, 64)
		allocs, err3 := strconv.ParseInt(f[9], 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("inittrace line %q: %w", sc.Text(), err)
		}
		recs = append(recs, initRecord{pkg: f[1], bytes: n, allocs: allocs, clockMillis: clock})
	}
	return recs, sc.Err()
}

// initHeap runs `bin version` under GODEBUG=inittrace=1.
func initHeap(b *testing.B, bin string) {
	cmd := exec.Command(bin, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s version: %v\n%s", bin, err, out.String())
	}
	recs, err := parseInitTrace(out.Bytes())
	if err != nil {
		b.Fatal(err)
	}
	if len(recs) == 0 {
		b.Fatalf("no inittrace line in:\n%s", out.String())
	}
	var total initRecord
	own := int64(0)
	for _, r := range recs {
		total.bytes += r.bytes
		total.allocs += r.allocs
		total.clockMillis += r.clockMillis
		if strings.HasPrefix(r.pkg, "github.com/certdock/certdock") {
			own += r.bytes
		}
	}
	slices.SortFunc(recs, func(x, y initRecord) int { return cmp.Compare(y.bytes, x.bytes) })
	var top strings.Builder
	for _, r := range recs[:min(12, len(recs))] {
		fmt.Fprintf(&top, "\n  %7.1f KiB %6d allocs %5.2f ms  %s", float64(r.bytes)/1024, r.allocs, r.clockMillis, r.pkg)
	}
	b.Logf("init of %d packages: %.2f MiB in %d allocations, %.1f ms; certdock's own packages: %.1f KiB; largest:%s",
		len(recs), float64(total.bytes)/(1<<20), total.allocs, total.clockMillis, float64(own)/1024, top.String())
	b.ReportMetric(float64(total.bytes)/(1<<20), "MiB-init-heap")
	b.ReportMetric(float64(total.allocs), "init-allocs")
	b.ReportMetric(total.clockMillis, "ms-init")
	b.ReportMetric(float64(len(recs)), "packages")
}

// startupPages holds `bin run` in its first pass and attributes the
// resident pages of the executable.
func startupPages(b *testing.B, bin string) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c // never answered, closed at the end
		}
	}()
	defer func() {
		for {
			select {
			case c := <-held:
				c.Close()
			default:
				return
			}
		}
	}()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "domains.conf"), []byte("held.example.com\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "run")
	cmd.Env = append(os.Environ(),
		"CERTDOCK_DIR="+dir,
		"ACME_DIRECTORY_URL=https://"+ln.Addr().String()+"/dir",
		"DNS_PROVIDER=rfc2136",
		"DNSUPDATE_NAMESERVER=127.0.0.1:1",
		"DNSUPDATE_TSIG_KEY=bench.",
		"DNSUPDATE_TSIG_SECRET=YmVuY2g=",
		fmt.Sprintf("CERTDOCK_LISTEN=127.0.0.1:%d", testenv.FreePort(b)),
		"CERTDOCK_LABEL_PREFIX=certdock-bench-startup-none",
	)
	var logs testenv.LogBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // it may have exited
		cmd.Wait()                          //nolint:errcheck // killed
		if b.Failed() {
			b.Logf("certdock's logs:\n%s", logs.String())
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "issuing certificate") {
		if time.Now().After(deadline) {
			b.Fatal("certdock never started its first pass")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the pass is waiting on the directory
	if strings.Contains(logs.String(), "certificate failed") {
		b.Fatal("the first pass ended: the pages may already be released")
	}
	res, err := residentPages(cmd.Process.Pid, bin)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(procStatus(b, cmd.Process.Pid, "VmRSS"), "MiB-rss")
	b.ReportMetric(float64(res.total)/(1<<20), "MiB-exe-resident")
	for _, s := range []string{".text", ".rodata", ".gopclntab"} {
		b.ReportMetric(float64(res.sections[s])/(1<<20), "MiB-"+strings.TrimPrefix(s, "."))
	}
	var top strings.Builder
	for _, p := range res.top(20) {
		fmt.Fprintf(&top, "\n  %7.1f KiB  %s", float64(p.bytes)/1024, p.name)
	}
	b.Logf("resident pages of the executable in the first pass: %.2f MiB; by section: %v; largest packages:%s",
		float64(res.total)/(1<<20), res.sectionsMiB(), top.String())
}

// resident is what residentPages found.
type resident struct {
	total    uint64
	sections map[string]uint64 // section name → resident bytes
	packages map[string]uint64 // "section package" → resident bytes of its symbols
}

type sized struct {
	name  string
	bytes uint64
}

func (r resident) top(n int) []sized {
	var out []sized
	for k, v := range r.packages {
		out = append(out, sized{k, v})
	}
	slices.SortFunc(out, func(x, y sized) int { return cmp.Or(cmp.Compare(y.bytes, x.bytes), strings.Compare(x.name, y.name)) })
	return out[:min(n, len(out))]
}

func (r resident) sectionsMiB() string {
	var parts []string
	for _, s := range r.topSections() {
		parts = append(parts, fmt.Sprintf("%s %.2f", s.name, float64(s.bytes)/(1<<20)))
	}
	return strings.Join(parts, ", ")
}

func (r resident) topSections() []sized {
	var out []sized
	for k, v := range r.sections {
		out = append(out, sized{k, v})
	}
	slices.SortFunc(out, func(x, y sized) int { return cmp.Compare(y.bytes, x.bytes) })
	return out
}

// residentPages reads which pages of pid's mappings of bin are resident
// (/proc/PID/pagemap: bit 63) and attributes them to bin's sections and,
// through its symbol table, to packages.
func residentPages(pid int, bin string) (resident, error) {
	res := resident{sections: map[string]uint64{}, packages: map[string]uint64{}}
	f, err := elf.Open(bin)
	if err != nil {
		return res, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return res, fmt.Errorf("%s: %w (build it without -s)", bin, err)
	}
	slices.SortFunc(syms, func(x, y elf.Symbol) int { return cmp.Compare(x.Value, y.Value) })
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return res, err
	}
	maps, err := memtrim.ParseMaps(data)
	if err != nil {
		return res, err
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return res, err
	}
	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return res, err
	}
	defer pm.Close()
	page := uint64(os.Getpagesize())
	for _, m := range maps {
		if m.Path != exe {
			continue
		}
		lo, hi := uint64(m.Start), uint64(m.End)
		entries := make([]byte, 8*(hi-lo)/page)
		if _, err := pm.ReadAt(entries, int64(lo/page*8)); err != nil {
			return res, fmt.Errorf("pagemap: %w", err)
		}
		for i := range (hi - lo) / page {
			if binary.LittleEndian.Uint64(entries[i*8:])&(1<<63) == 0 {
				continue
			}
			addr := lo + i*page
			sec := sectionAt(f, addr)
			res.total += page
			res.sections[sec] += page
			j, _ := slices.BinarySearchFunc(syms, addr, func(s elf.Symbol, a uint64) int { return cmp.Compare(s.Value, a) })
			for j = max(j-1, 0); j < len(syms) && syms[j].Value < addr+page; j++ {
				s := syms[j]
				if s.Size == 0 || s.Value+s.Size <= addr {
					continue
				}
				res.packages[sec+" "+packageOf(s.Name)] += min(s.Value+s.Size, addr+page) - max(s.Value, addr)
			}
		}
	}
	return res, nil
}

// sectionAt names the loaded section of f that holds addr.
func sectionAt(f *elf.File, addr uint64) string {
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC != 0 && s.Addr <= addr && addr < s.Addr+s.Size {
			return s.Name
		}
	}
	return "(between sections)"
}

// packageOf shortens a Go symbol name to the first three elements of its
// package path ("github.com/go-acme/lego" for every lego provider), or to
// the linker's kind of data ("type:", "go:"): a pure function.
func packageOf(sym string) string {
	for _, p := range []string{"type:", "go:", "runtime.gcbits."} {
		if strings.HasPrefix(sym, p) {
			return p
		}
	}
	slash := strings.LastIndex(sym, "/")
	dot := strings.Index(sym[slash+1:], ".")
	if dot < 0 {
		return sym
	}
	parts := strings.Split(sym[:slash+1+dot], "/")
	return strings.Join(parts[:min(3, len(parts))], "/")
}

func TestParseInitTrace(t *testing.T) {
	out := []byte("certdock test\n" +
		"init internal/bytealg @0.061 ms, 0 ms clock, 0 bytes, 0 allocs\n" +
		"init github.com/distribution/reference @30 ms, 2.8 ms clock, 414552 bytes, 3600 allocs\n" +
		"init broken @1 ms, x ms clock, 1 bytes, 1 allocs\n")
	if _, err := parseInitTrace(out); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("a malformed line: %v, want an error naming it", err)
	}
	recs, err := parseInitTrace(out[:bytes.Index(out, []byte("init broken"))])
	if err != nil {
		t.Fatal(err)
	}
	want := []initRecord{{"internal/bytealg", 0, 0, 0}, {"github.com/distribution/reference", 414552, 3600, 2.8}}
	if !slices.Equal(recs, want) {
		t.Fatalf("parsed %+v, want %+v", recs, want)
	}
}

func TestPackageOf(t *testing.T) {
	for sym, want := range map[string]string{
		"github.com/go-acme/lego/v5/providers/dns/route53.init.0": "github.com/go-acme/lego",
		"net/http.(*Transport).RoundTrip":                         "net/http",
		"runtime.mallocgc":                                        "runtime",
		"type:*net/http.Request":                                  "type:",
		"go:string.*":                                             "go:",
		"main.main":                                               "main",
		"noDot":                                                   "noDot",
	} {
		if got := packageOf(sym); got != want {
			t.Errorf("packageOf(%q) = %q, want %q", sym, got, want)
		}
	}
}
