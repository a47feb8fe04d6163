package fakeupstream

import (
	"bytes"
	"maps"
	"net/http"
	"slices"

	"github.com/qcc-dev/qcc/internal/sse"
)

// Stats is what the fake did, for tests to reconcile against what the proxy
// says it did.
type Stats struct {
	Requests int            // every request that arrived
	ByPath   map[string]int // requests by URL path, query excluded
	ByStatus map[int]int    // responses by the status they were sent with
	// Resets counts connections cut by a fault, with or without a status.
	Resets int
	// StreamsStarted counts streams that sent their headers;
	// StreamsCompleted those that also sent message_stop.
	StreamsStarted   int
	StreamsCompleted int
	// Tokens sums the usage the fake served: for each reply, what a client
	// that parsed every byte it was sent was told. A stream cut after
	// message_start counts its input tokens and first output token; a
	// non-streaming reply cut halfway counts nothing.
	//
	// Every count is made before the bytes it counts are written, so a
	// client that has seen a response finds it in Stats.
	Tokens sse.Usage
}

func newStats() Stats {
	return Stats{ByPath: map[string]int{}, ByStatus: map[int]int{}}
}

// Recorded is one request as the fake received it.
type Recorded struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// clone returns a copy of rec that shares nothing with it.
func (rec Recorded) clone() Recorded {
	rec.Header = rec.Header.Clone()
	rec.Body = bytes.Clone(rec.Body)
	return rec
}

// ring keeps the most recent requests, up to max.
type ring struct {
	max   int
	items []Recorded
	next  int // where the next item goes once items is full
}

func (r *ring) add(rec Recorded) {
	switch {
	case r.max == 0:
	case len(r.items) < r.max:
		r.items = append(r.items, rec)
	default:
		r.items[r.next] = rec
		r.next = (r.next + 1) % r.max
	}
}

// list returns copies of the items, oldest first.
func (r *ring) list() []Recorded {
	out := make([]Recorded, 0, len(r.items))
	for _, rec := range slices.Concat(r.items[r.next:], r.items[:r.next]) {
		out = append(out, rec.clone())
	}
	return out
}

// record counts a request and keeps it.
func (s *Server) record(r *http.Request, body []byte) {
	rec := Recorded{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	s.stats.ByPath[r.URL.Path]++
	s.recent.add(rec)
}

// served adds a reply's delivered usage to the totals.
func (s *Server) served(u sse.Usage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Tokens = s.stats.Tokens.Add(u)
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByPath = maps.Clone(s.stats.ByPath)
	st.ByStatus = maps.Clone(s.stats.ByStatus)
	return st
}

// Requests returns copies of the most recent requests, oldest first: up to
// Options.MaxRecorded of them.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recent.list()
}

// Reset returns the server to its state after New: no faults, no counts,
// no recorded requests. Requests in flight finish with the fault they took
// and still count afterwards.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.standing = nil
	s.queue = nil
	s.stats = newStats()
	s.recent = ring{max: s.recent.max}
}
