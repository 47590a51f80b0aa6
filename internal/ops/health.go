package ops

import (
	"maps"
	"slices"
	"strings"
	"sync"
)

// Health tracks whether certdock is ready (its first pass is done) and
// the state of named checks such as "docker" and "store". It is safe for
// concurrent use. Updates to a nil *Health are discarded.
type Health struct {
	mu     sync.Mutex
	ready  bool
	checks map[string]error
	probes map[string]func() error
}

// NewHealth returns a Health that is not ready yet and has no checks.
func NewHealth() *Health {
	return &Health{checks: map[string]error{}, probes: map[string]func() error{}}
}

// SetReady marks the first pass as done.
func (h *Health) SetReady() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ready = true
}

// SetCheck records the latest result of a named check: nil is healthy,
// an error makes Status unhealthy until the check is set to nil again.
// A check, once set, is listed by Status from then on.
func (h *Health) SetCheck(name string, err error) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[name] = err
}

// SetProbe registers a check that is evaluated on every Status call, for
// state that is cheap to poll (such as whether the Docker event stream is
// up). probe must be fast and safe for concurrent use; nil removes it. A
// probe and a SetCheck check of the same name both count: the name is
// healthy only when both are.
func (h *Health) SetProbe(name string, probe func() error) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if probe == nil {
		delete(h.probes, name)
		return
	}
	h.probes[name] = probe
}

// Status reports whether certdock is healthy, and one line per check:
// "ready" first, then the named checks in order of name, each "ok" or
// "error: " and its message (kept on one line), e.g.
//
//	ready: ok
//	docker: ok
//	store: error: open /etc/letsencrypt/certdock/state.json: read-only file system
func (h *Health) Status() (ok bool, body string) {
	h.mu.Lock()
	ready := h.ready
	checks := maps.Clone(h.checks)
	probes := maps.Clone(h.probes)
	h.mu.Unlock()
	// Probes run outside the lock: a slow probe must not block SetCheck.
	for name, probe := range probes {
		err := probe()
		if checks[name] == nil {
			checks[name] = err // also lists a healthy probe
		}
	}

	ok = ready
	var b strings.Builder
	if ready {
		b.WriteString("ready: ok")
	} else {
		b.WriteString("ready: waiting for the first pass")
	}
	for _, name := range slices.Sorted(maps.Keys(checks)) {
		b.WriteString("\n")
		b.WriteString(oneLine(name))
		if err := checks[name]; err != nil {
			ok = false
			b.WriteString(": error: ")
			b.WriteString(oneLine(err.Error()))
		} else {
			b.WriteString(": ok")
		}
	}
	return ok, b.String()
}

// oneLine keeps a message on one line of the body (runs of white space,
// line breaks included, become one space).
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
