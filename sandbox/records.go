package sandbox

import (
	"slices"
	"strings"
	"sync"
)

// txtStore holds the TXT records served by the in-process DNS server. Keys
// are canonical (lower-case, fully qualified) owner names. A value may be
// added more than once; each add must be matched by a remove before the value
// stops being served, so two overlapping challenges that happen to publish the
// same value do not tear each other's record down.
type txtStore struct {
	mu      sync.RWMutex
	records map[string][]string
}

func newTXTStore() *txtStore {
	return &txtStore{records: make(map[string][]string)}
}

// canonicalName lower-cases name and makes it fully qualified.
func canonicalName(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

func (s *txtStore) add(name, value string) {
	name = canonicalName(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[name] = append(s.records[name], value)
}

// remove drops one occurrence of value at name and reports whether there was
// one to drop.
func (s *txtStore) remove(name, value string) bool {
	name = canonicalName(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	values := s.records[name]
	i := slices.Index(values, value)
	if i < 0 {
		return false
	}
	values = slices.Delete(values, i, i+1)
	if len(values) == 0 {
		delete(s.records, name)
	} else {
		s.records[name] = values
	}
	return true
}

// lookup returns the distinct values at name, in the order they were first
// added. The result is a fresh slice the caller may keep.
func (s *txtStore) lookup(name string) []string {
	name = canonicalName(name)
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, v := range s.records[name] {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
