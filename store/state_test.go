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
		g2, w2 := *g, w
		g2.LastWanted, g2.NextAttempt, w2.LastWanted, w2.NextAttempt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(g2, w2) {
			t.Errorf("%s = %+v, want %+v", name, g2, w2)
		}
	}
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
