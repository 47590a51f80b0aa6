package testenv

import (
	"bytes"
	"sync"
)

// LogBuffer is a goroutine-safe sink for a test's logger: write to it from
// any goroutine, read it with String (e.g. to assert on log lines or print
// them when a test fails).
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
