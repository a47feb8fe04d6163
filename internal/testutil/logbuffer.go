// Package testutil holds small helpers that tests of several packages
// share. It is imported only by tests.
package testutil

import (
	"bytes"
	"sync"
)

// LogBuffer is an io.Writer that goroutines may share, for capturing what a
// component logs while a test reads it.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
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
