package fakeupstream

import (
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Fault is a way for the fake to misbehave. The zero Fault is good
// behaviour and each field adds one failure. HeaderDelay, Header and
// RetryAfter combine with the others; among the rest, the one that strikes
// earliest in a response's life wins: ResetBeforeHeaders, then Status,
// ResetAfterHeaders, Garbage, and last the faults of a reply's body.
type Fault struct {
	// Path limits the fault to requests whose path starts with it; empty
	// means every path. "/v1/messages" also matches count_tokens.
	Path string

	// Status, when not 0 or 200, is answered instead of a reply, with an
	// Anthropic error body whose type fits the status.
	Status int
	// ErrorType overrides the error type of Status's body and of the error
	// event of ErrorAfterEvents.
	ErrorType string
	// RetryAfter is sent as the Retry-After header.
	RetryAfter string
	// Header holds extra response headers, such as anthropic-ratelimit-*;
	// they are sent with errors and successes alike.
	Header http.Header

	// HeaderDelay is a pause before anything is sent, for first-byte
	// timeouts.
	HeaderDelay time.Duration
	// ResetBeforeHeaders resets the connection before any response byte.
	ResetBeforeHeaders bool
	// ResetAfterHeaders sends a 200 status line and headers, then closes
	// the connection.
	ResetAfterHeaders bool
	// Garbage answers 200 with a body that is neither JSON nor SSE, under
	// the content type the client expects, as a broken relay might.
	Garbage bool

	// ResetAfterEvents, when positive, closes the connection after that
	// many events of a stream (counting every event: message_start is the
	// first). A non-streaming reply instead sends its headers, with the
	// full Content-Length, and half its body before the connection closes.
	ResetAfterEvents int
	// ErrorAfterEvents, when positive, ends a stream after that many events
	// with an error event, overloaded_error unless ErrorType says otherwise,
	// as the real API does when it is overloaded mid-stream.
	ErrorAfterEvents int
	// EventDelay replaces Options.EventDelay: slow events.
	EventDelay time.Duration
	// Empty makes the reply's content array empty.
	Empty bool
}

func (f *Fault) matches(path string) bool { return strings.HasPrefix(path, f.Path) }

// clone returns f with its own copy of the headers, so that the caller may
// reuse its map while requests read the fault's.
func (f Fault) clone() Fault {
	f.Header = f.Header.Clone()
	return f
}

// SetFault makes f the standing fault: it applies to every matching request
// until ClearFault, except those that take a queued fault.
func (s *Server) SetFault(f Fault) {
	f = f.clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.standing = &f
}

// ClearFault removes the standing fault. Queued faults stay queued.
func (s *Server) ClearFault() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.standing = nil
}

// PushFaults queues faults for the next requests, one each in order: each
// request takes the first queued fault that matches its path, and only a
// request that takes none falls back to the standing fault. A request that
// fails authentication takes no fault.
func (s *Server) PushFaults(fs ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range fs {
		s.queue = append(s.queue, f.clone())
	}
}

// takeFault returns the fault due for a request to path.
func (s *Server) takeFault(path string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.queue {
		if s.queue[i].matches(path) {
			f := s.queue[i]
			s.queue = slices.Delete(s.queue, i, i+1)
			return f
		}
	}
	if s.standing != nil && s.standing.matches(path) {
		return *s.standing
	}
	return Fault{}
}

// garbage is what a misconfigured relay or a captive portal sends back.
const garbage = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n"

// writeBroken answers for ResetAfterHeaders and Garbage: a 200 under the
// content type the client expects, then nothing or junk.
func (s *Server) writeBroken(w http.ResponseWriter, f Fault, stream bool) {
	if stream {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	if f.ResetAfterHeaders {
		s.respond(w, http.StatusOK)
		s.cut(w, true)
		return
	}
	s.respond(w, http.StatusOK)
	_, _ = w.Write([]byte(garbage))
}

// cut ends the connection under the response without finishing it, so that
// the client sees a reset or an unexpected EOF. With flush, what the handler
// wrote so far is sent first; without, not even the headers are.
func (s *Server) cut(w http.ResponseWriter, flush bool) {
	s.mu.Lock()
	s.stats.Resets++
	s.mu.Unlock()

	rc := http.NewResponseController(w)
	if flush {
		_ = rc.Flush()
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		// HTTP/2 connections cannot be hijacked; aborting the handler
		// resets the stream instead.
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok && !flush {
		// Nothing is in flight, so a hard reset loses nothing and is what
		// a crashed upstream looks like. After data, a plain close keeps
		// every byte already written deliverable.
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
