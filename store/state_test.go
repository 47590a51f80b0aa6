package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStateRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 22, 14, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name  string
		opts  Options
		state *State
		want  map[string]LineageState
	}{
		{
			name:  "empty",
			state: NewState(),
			want:  map[string]LineageState{},
		},
		{
			name:  "nil map",
			state: &State{},
			want:  map[string]LineageState{},
		},
		{
			name: "owned file lineage, healthy",
			state: &State{Lineages: map[string]*LineageState{
				"example.com": {Owned: true, Origin: "file", LastWanted: at},
			}},
			want: map[string]LineageState{
				"example.com": {Owned: true, Origin: "file", LastWanted: at},
			},
		},
		{
			name: "failure streak and label lineage, wide store modes",
			opts: Options{DirMode: 0o755, FileMode: 0o644},
			state: &State{Lineages: map[string]*LineageState{
				"a.example.com": {
					Owned: true, Origin: "label", LastWanted: at, Source: "workload web", Targets: []string{"signal SIGHUP to web"},
					Failures: 3, NextAttempt: at.Add(time.Hour), LastError: "issuer: obtain a.example.com: rate limited", Notified: true,
				},
				"adopted.example.org": {Owned: true, Origin: "file"},
				"foreign.example.net": {},
			}},
			want: map[string]LineageState{
				"a.example.com": {
					Owned: true, Origin: "label", LastWanted: at, Source: "workload web", Targets: []string{"signal SIGHUP to web"},
					Failures: 3, NextAttempt: at.Add(time.Hour), LastError: "issuer: obtain a.example.com: rate limited", Notified: true,
				},
				"adopted.example.org": {Owned: true, Origin: "file"},
				"foreign.example.net": {},
			},
		},
		{
			name: "ARI answers: window, no window, failed lookup",
			state: &State{Lineages: map[string]*LineageState{
				"window.example.com": {Owned: true, Origin: "file", LastWanted: at, ARI: &ARIState{
					Serial: "340282366920938463463374607431768211455", Start: at.Add(24 * time.Hour), End: at.Add(48 * time.Hour),
					Fetched: at, NextFetch: at.Add(6 * time.Hour),
				}},
				"nowindow.example.com": {Owned: true, Origin: "label", ARI: &ARIState{
					Serial: "1", Fetched: at.In(time.FixedZone("CET", 3600)), NextFetch: at.Add(time.Hour).In(time.FixedZone("CET", 3600)),
				}},
				"failed.example.com": {Owned: true, Origin: "file", ARI: &ARIState{
					Serial: "42", Fetched: at, NextFetch: at.Add(time.Hour), Err: "issuer: renewal info: 503 Service Unavailable",
				}},
				"unasked.example.com": {Owned: true, Origin: "file"},
			}},
			want: map[string]LineageState{
				"window.example.com": {Owned: true, Origin: "file", LastWanted: at, ARI: &ARIState{
					Serial: "340282366920938463463374607431768211455", Start: at.Add(24 * time.Hour), End: at.Add(48 * time.Hour),
					Fetched: at, NextFetch: at.Add(6 * time.Hour),
				}},
				"nowindow.example.com": {Owned: true, Origin: "label", ARI: &ARIState{
					Serial: "1", Fetched: at, NextFetch: at.Add(time.Hour),
				}},
				"failed.example.com": {Owned: true, Origin: "file", ARI: &ARIState{
					Serial: "42", Fetched: at, NextFetch: at.Add(time.Hour), Err: "issuer: renewal info: 503 Service Unavailable",
				}},
				"unasked.example.com": {Owned: true, Origin: "file"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), tt.opts)
			if err := d.SaveState(tt.state); err != nil {
				t.Fatalf("SaveState: %v", err)
			}
			got, err := d.LoadState()
			if err != nil {
				t.Fatalf("LoadState: %v", err)
			}
			checkState(t, got, tt.want)

			checkMode(t, filepath.Join(d.Root(), "certdock"), fs.ModeDir|0o700)
			checkMode(t, filepath.Join(d.Root(), "certdock", "state.json"), 0o600)
			data, err := os.ReadFile(filepath.Join(d.Root(), "certdock", "state.json"))
			if err != nil {
				t.Fatal(err)
			}
			var doc struct{ Version int }
			if err := json.Unmarshal(data, &doc); err != nil || doc.Version != 1 {
				t.Errorf("state.json version = %d, %v; want 1", doc.Version, err)
			}
		})
	}
}

// checkState compares a loaded state with the wanted entries.
func checkState(t *testing.T, got *State, want map[string]LineageState) {
	t.Helper()
	if got == nil || got.Lineages == nil {
		t.Fatalf("state %v has no map", got)
	}
	if len(got.Lineages) != len(want) {
		t.Errorf("%d lineages, want %d: %v", len(got.Lineages), len(want), got.Lineages)
	}
	for name, w := range want {
		g := got.Lineages[name]
		if g == nil {
			t.Errorf("lineage %s missing", name)
			continue
		}
		if !g.LastWanted.Equal(w.LastWanted) || !g.NextAttempt.Equal(w.NextAttempt) {
			t.Errorf("%s times = %v / %v, want %v / %v", name, g.LastWanted, g.NextAttempt, w.LastWanted, w.NextAttempt)
		}
		if !sameARI(g.ARI, w.ARI) {
			t.Errorf("%s ARI = %+v, want %+v", name, g.ARI, w.ARI)
		}
		g2, w2 := *g, w
		g2.LastWanted, g2.NextAttempt, w2.LastWanted, w2.NextAttempt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		g2.ARI, w2.ARI = nil, nil
		if !reflect.DeepEqual(g2, w2) {
			t.Errorf("%s = %+v, want %+v", name, g2, w2)
		}
	}
}

// sameARI compares two ARI answers, times by instant.
func sameARI(a, b *ARIState) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Serial == b.Serial && a.Err == b.Err && a.Start.Equal(b.Start) && a.End.Equal(b.End) &&
		a.Fetched.Equal(b.Fetched) && a.NextFetch.Equal(b.NextFetch)
}

func TestLoadStateMissing(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
	}{
		{name: "no store", setup: func(t *testing.T, root string) {}},
		{name: "store without certdock dir", setup: func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, "live"))
		}},
		{name: "certdock dir without state", setup: func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, "certdock"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "le")
			tt.setup(t, root)
			s, err := New(root, Options{}).LoadState()
			if err != nil {
				t.Fatalf("LoadState: %v", err)
			}
			checkState(t, s, map[string]LineageState{})
		})
	}
}

func TestLoadStateCorrupt(t *testing.T) {
	tests := []struct {
		name      string
		content   string // written to state.json unless dir is set
		dir       bool   // state.json is a directory: unreadable
		movedAway bool   // the file is kept as state.json.corrupt
		errHas    string
	}{
		{name: "garbage", content: "\x00\x01not json", movedAway: true, errHas: "invalid character"},
		{name: "truncated", content: `{"version":1,"lineages":{"example.com":{"owned":true`, movedAway: true, errHas: "unexpected end"},
		{name: "empty file", content: "", movedAway: true, errHas: "unexpected end"},
		{name: "wrong types", content: `{"version":1,"lineages":5}`, movedAway: true, errHas: "cannot unmarshal"},
		{name: "bad time", content: `{"version":1,"lineages":{"example.com":{"last_wanted":"yesterday"}}}`, movedAway: true, errHas: "parsing time"},
		{name: "bad ARI time", content: `{"version":1,"lineages":{"example.com":{"owned":true,"ari":{"serial":"1","start":"soon"}}}}`, movedAway: true, errHas: "parsing time"},
		{name: "ARI of the wrong type", content: `{"version":1,"lineages":{"example.com":{"ari":"2026-11-22"}}}`, movedAway: true, errHas: "cannot unmarshal"},
		{name: "newer format", content: `{"version":2,"lineages":{}}`, movedAway: true, errHas: "newer certdock"},
		{name: "unreadable", dir: true, errHas: "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			p := filepath.Join(d.Root(), "certdock", "state.json")
			mkdir(t, filepath.Dir(p))
			if tt.dir {
				mkdir(t, p)
			} else {
				write(t, p, []byte(tt.content))
			}

			s, err := d.LoadState()
			if !errors.Is(err, ErrStateCorrupt) {
				t.Fatalf("LoadState error = %v, want ErrStateCorrupt", err)
			}
			if !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name %s and %q", err, p, tt.errHas)
			}
			checkState(t, s, map[string]LineageState{})
			if !tt.movedAway {
				return
			}
			kept, err := os.ReadFile(p + ".corrupt")
			if err != nil || string(kept) != tt.content {
				t.Errorf("state.json.corrupt = %q, %v; want the corrupt content", kept, err)
			}
			if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("state.json still there after being moved aside: %v", err)
			}

			// The caller carries on from empty state.
			s.Lineage("example.com").Owned = true
			if err := d.SaveState(s); err != nil {
				t.Fatalf("SaveState after corruption: %v", err)
			}
			s, err = d.LoadState()
			if err != nil {
				t.Fatalf("LoadState after SaveState: %v", err)
			}
			checkState(t, s, map[string]LineageState{"example.com": {Owned: true}})
		})
	}
}

func TestLoadStateDropsUnusableEntries(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "le"), Options{})
	p := filepath.Join(d.Root(), "certdock", "state.json")
	mkdir(t, filepath.Dir(p))
	write(t, p, []byte(`{"lineages":{"example.com":{"owned":true},"../etc":{"owned":true},"null.example.com":null,"Upper.example.com":{}},"future_field":[1]}`))
	s, err := d.LoadState()
	if err != nil {
		t.Fatalf("LoadState: %v", err)
	}
	checkState(t, s, map[string]LineageState{"example.com": {Owned: true}})
}

func TestLoadStateARI(t *testing.T) {
	at := time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		content string
		want    map[string]LineageState
	}{
		{
			name: "file of a certdock without ARI state",
			content: `{
  "version": 1,
  "lineages": {
    "example.com": {
      "owned": true,
      "origin": "file",
      "last_wanted": "2026-11-22T14:00:00Z",
      "failures": 2,
      "next_attempt": "2026-11-22T15:00:00Z",
      "last_error": "rate limited"
    }
  }
}
`,
			want: map[string]LineageState{
				"example.com": {Owned: true, Origin: "file", LastWanted: at, Failures: 2, NextAttempt: at.Add(time.Hour), LastError: "rate limited"},
			},
		},
		{
			name:    "null ARI",
			content: `{"version":1,"lineages":{"example.com":{"owned":true,"ari":null}}}`,
			want:    map[string]LineageState{"example.com": {Owned: true}},
		},
		{
			name:    "empty ARI",
			content: `{"version":1,"lineages":{"example.com":{"owned":true,"ari":{}}}}`,
			want:    map[string]LineageState{"example.com": {Owned: true, ARI: &ARIState{}}},
		},
		{
			name: "window",
			content: `{"version":1,"lineages":{"example.com":{"owned":true,"ari":{"serial":"123","start":"2026-11-23T14:00:00Z",` +
				`"end":"2026-11-24T14:00:00+01:00","fetched":"2026-11-22T14:00:00Z","next_fetch":"2026-11-22T20:00:00Z"}}}}`,
			want: map[string]LineageState{"example.com": {Owned: true, ARI: &ARIState{
				Serial: "123", Start: at.Add(24 * time.Hour), End: at.Add(47 * time.Hour), Fetched: at, NextFetch: at.Add(6 * time.Hour),
			}}},
		},
		{
			name: "failed lookup, unknown fields beside",
			content: `{"version":1,"lineages":{"example.com":{"owned":true,"ari":{"serial":"123","fetched":"2026-11-22T14:00:00Z",` +
				`"next_fetch":"2026-11-22T15:00:00Z","error":"timeout","explanation_url":"https://ca.example/why"}}}}`,
			want: map[string]LineageState{"example.com": {Owned: true, ARI: &ARIState{
				Serial: "123", Fetched: at, NextFetch: at.Add(time.Hour), Err: "timeout",
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "le"), Options{})
			p := filepath.Join(d.Root(), "certdock", "state.json")
			mkdir(t, filepath.Dir(p))
			write(t, p, []byte(tt.content))
			s, err := d.LoadState()
			if err != nil {
				t.Fatalf("LoadState: %v", err)
			}
			checkState(t, s, tt.want)

			// What was loaded saves and loads again unchanged.
			if err := d.SaveState(s); err != nil {
				t.Fatalf("SaveState: %v", err)
			}
			if s, err = d.LoadState(); err != nil {
				t.Fatalf("LoadState after SaveState: %v", err)
			}
			checkState(t, s, tt.want)
		})
	}
}

func TestARIStateJSON(t *testing.T) {
	at := time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		ls   LineageState
		want string
	}{
		{
			name: "never asked",
			ls:   LineageState{Owned: true},
			want: `{"owned":true,"origin":"","last_wanted":"0001-01-01T00:00:00Z"}`,
		},
		{
			name: "window",
			ls: LineageState{ARI: &ARIState{
				Serial: "123", Start: at.Add(time.Hour), End: at.Add(2 * time.Hour), Fetched: at, NextFetch: at.Add(3 * time.Hour),
			}},
			want: `{"owned":false,"origin":"","last_wanted":"0001-01-01T00:00:00Z","ari":{"serial":"123",` +
				`"start":"2026-11-22T15:00:00Z","end":"2026-11-22T16:00:00Z","fetched":"2026-11-22T14:00:00Z","next_fetch":"2026-11-22T17:00:00Z"}}`,
		},
		{
			name: "no window offered",
			ls:   LineageState{ARI: &ARIState{Serial: "123", Fetched: at, NextFetch: at.Add(time.Hour)}},
			want: `{"owned":false,"origin":"","last_wanted":"0001-01-01T00:00:00Z","ari":{"serial":"123",` +
				`"fetched":"2026-11-22T14:00:00Z","next_fetch":"2026-11-22T15:00:00Z"}}`,
		},
		{
			name: "failed lookup",
			ls:   LineageState{ARI: &ARIState{Serial: "123", Fetched: at, Err: "timeout"}},
			want: `{"owned":false,"origin":"","last_wanted":"0001-01-01T00:00:00Z","ari":{"serial":"123",` +
				`"fetched":"2026-11-22T14:00:00Z","error":"timeout"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(&tt.ls)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tt.want {
				t.Errorf("encoding\n got %s\nwant %s", data, tt.want)
			}
		})
	}
}

func TestSaveStateConcurrent(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "le"), Options{})
	const writers, saves = 8, 10
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		errs   []error
		record = func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	)
	for w := range writers {
		wg.Go(func() {
			for i := range saves {
				s := NewState()
				s.Lineage(fmt.Sprintf("w%d.example.com", w)).Failures = i + 1
				if err := d.SaveState(s); err != nil {
					record(err)
				}
			}
		})
		wg.Go(func() {
			for range saves {
				s, err := d.LoadState()
				if err != nil {
					record(err)
				} else if len(s.Lineages) > 1 {
					record(fmt.Errorf("a load saw %d lineages, a mix of saves", len(s.Lineages)))
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	s, err := d.LoadState()
	if err != nil {
		t.Fatalf("final LoadState: %v", err)
	}
	if len(s.Lineages) != 1 {
		t.Fatalf("final state has %d lineages, want the one of the last save", len(s.Lineages))
	}
	for name, ls := range s.Lineages {
		if ls.Failures != saves {
			t.Errorf("final state %s has failures %d, want %d (the writer's last save)", name, ls.Failures, saves)
		}
	}
	if tmp := tempFiles(t, d); len(tmp) > 0 {
		t.Errorf("temporary files left: %q", tmp)
	}
}

func TestSaveStateSkipsUnchanged(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "le"), Options{})
	p := filepath.Join(d.Root(), "certdock", "state.json")
	s := NewState()
	s.Lineage("example.com").Owned = true
	if err := d.SaveState(s); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SaveState(s); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("saving the same state replaced the file")
	}

	s.Lineage("example.com").Failures = 1
	if err := d.SaveState(s); err != nil {
		t.Fatal(err)
	}
	changed, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(after, changed) {
		t.Error("a changed state was not written by rename")
	}
}

func TestSaveStateCleansAndFixes(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "le"), Options{})
	dir := filepath.Join(d.Root(), "certdock")
	mkdir(t, dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := NewState()
	data, _ := json.MarshalIndent(stateFile{Version: stateVersion, Lineages: s.Lineages}, "", "  ")
	write(t, filepath.Join(dir, "state.json"), append(data, '\n'))
	if err := os.Chmod(filepath.Join(dir, "state.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, ".state.json.tmp-crash"), []byte("{"))

	if err := d.SaveState(s); err != nil {
		t.Fatalf("SaveState: %v", err)
	}
	checkMode(t, dir, fs.ModeDir|0o700)
	checkMode(t, filepath.Join(dir, "state.json"), 0o600)
	if tmp := tempFiles(t, d); len(tmp) > 0 {
		t.Errorf("temporary files left: %q", tmp)
	}
}

func TestSaveStateNil(t *testing.T) {
	d := New(t.TempDir(), Options{})
	if err := d.SaveState(nil); err == nil {
		t.Error("SaveState(nil) succeeded")
	}
}

func TestStateLineage(t *testing.T) {
	var s State
	ls := s.Lineage("example.com")
	ls.Owned = true
	if again := s.Lineage("example.com"); again != ls || !again.Owned {
		t.Errorf("Lineage returned a new entry for an existing name")
	}
	if data, err := json.Marshal(&LineageState{}); err != nil || !bytes.Contains(data, []byte(`"last_wanted"`)) || bytes.Contains(data, []byte("next_attempt")) {
		t.Errorf("zero LineageState encodes as %s, %v; want last_wanted kept and next_attempt omitted", data, err)
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o750); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSaveState measures the save of a pass on a large state, every
// lineage owned and wanted by a label, with or without its ARI answer.
// "changed" moves one lineage's LastWanted before each save, so the file
// is encoded, compared and replaced; "unchanged" saves the same state, so
// it is encoded and compared only.
func BenchmarkSaveState(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, ari := range []bool{false, true} {
			for _, changed := range []bool{true, false} {
				mode := "unchanged"
				if changed {
					mode = "changed"
				}
				b.Run(fmt.Sprintf("lineages=%d/ari=%t/%s", n, ari, mode), func(b *testing.B) {
					s := benchState(n, ari)
					d := New(b.TempDir(), Options{})
					if err := d.SaveState(s); err != nil {
						b.Fatal(err)
					}
					first := s.Lineage(benchName(0))
					for b.Loop() {
						if changed {
							first.LastWanted = first.LastWanted.Add(time.Minute)
						}
						if err := d.SaveState(s); err != nil {
							b.Fatal(err)
						}
					}
					fi, err := os.Stat(filepath.Join(d.Root(), "certdock", "state.json"))
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(fi.Size()), "file-bytes")
				})
			}
		}
	}
}

func benchName(i int) string { return fmt.Sprintf("svc%05d.example.com", i) }

// benchState is a state of n lineages as a pass leaves them; with ari,
// each has a window and one in ten a failed lookup.
func benchState(n int, ari bool) *State {
	at := time.Date(2026, 11, 22, 14, 0, 0, 123456789, time.UTC)
	s := NewState()
	for i := range n {
		ls := s.Lineage(benchName(i))
		ls.Owned, ls.Origin, ls.LastWanted = true, "label", at
		ls.Source, ls.Targets = fmt.Sprintf("workload svc%05d", i), []string{fmt.Sprintf("signal svc%05d: SIGHUP", i)}
		if !ari {
			continue
		}
		ls.ARI = &ARIState{
			Serial:    fmt.Sprintf("2658%034d", i),
			Start:     at.Add(40 * 24 * time.Hour),
			End:       at.Add(42 * 24 * time.Hour),
			Fetched:   at,
			NextFetch: at.Add(6 * time.Hour),
		}
		if i%10 == 0 {
			ls.ARI.Start, ls.ARI.End = time.Time{}, time.Time{}
			ls.ARI.Err = "issuer: renewal info: 503 Service Unavailable"
		}
	}
	return s
}
