// Package fakeupstream is a fake Anthropic API for tests, demos and load
// runs: a real HTTP handler that speaks the Messages API's shapes, streams
// like the real thing, and fails on demand in the ways real upstreams fail.
//
// Tests serve it on loopback with httptest.NewServer, steer it with
// [Server.SetFault] and [Server.PushFaults], and check what really happened
// upstream with [Server.Stats] and [Server.Requests].
package fakeupstream

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options shape the fake's replies. The zero value gives a server that
// accepts any key and answers quickly.
type Options struct {
	// Events is the number of content_block_delta events in a streamed
	// reply; 0 means 10. A non-streaming reply takes as long as its stream
	// would have.
	Events int
	// EventDelay is the pause between two events of a stream.
	EventDelay time.Duration
	// Text is the reply. When empty, the reply echoes the text of the last
	// user message, so that a health probe asking for a nonce gets it back.
	Text string
	// APIKey, when set, must arrive as x-api-key or as a bearer token;
	// anything else gets a 401 authentication_error.
	APIKey string
	// InputTokens is the input_tokens of every reply and of count_tokens;
	// 0 means 25.
	InputTokens int64
	// OutputTokens is the final output_tokens of every reply; 0 means one
	// per content_block_delta.
	OutputTokens int64
	// CacheReadTokens and CacheCreationTokens are reported as
	// cache_read_input_tokens and cache_creation_input_tokens.
	CacheReadTokens     int64
	CacheCreationTokens int64
	// Model is the model every reply names; when empty, a reply names the
	// model its request asked for.
	Model string
	// MaxRecorded is how many recent requests Requests keeps; 0 means 1000
	// and a negative value keeps none, for load runs.
	MaxRecorded int
}

// maxBody is the largest request body the real API accepts for Messages.
const maxBody = 32 << 20

// Server is the fake API. It is an http.Handler, safe for concurrent use;
// faults and statistics may be changed and read while it serves.
type Server struct {
	opts    Options
	maxBody int64        // the request body limit: the API's, lowered by tests
	seq     atomic.Int64 // numbers message and request ids

	mu       sync.Mutex
	standing *Fault
	queue    []Fault
	stats    Stats
	recent   ring
}

// New returns a Server with opts, defaults filled in.
func New(opts Options) *Server {
	if opts.Events <= 0 {
		opts.Events = 10
	}
	if opts.InputTokens <= 0 {
		opts.InputTokens = 25
	}
	if opts.MaxRecorded == 0 {
		opts.MaxRecorded = 1000
	}
	s := &Server{opts: opts, maxBody: maxBody}
	s.recent.max = max(opts.MaxRecorded, 0)
	s.stats = newStats()
	return s
}

// ServeHTTP answers one request: it records it, checks its key, applies the
// fault that is due, and then answers as the real API would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	s.record(r, body)
	w.Header().Set("request-id", fmt.Sprintf("req_fake%012d", s.seq.Add(1)))

	if readErr != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](readErr); ok {
			s.writeError(w, http.StatusRequestEntityTooLarge, "", "Request exceeds the maximum allowed number of bytes.")
			return
		}
		s.writeError(w, http.StatusBadRequest, "", "could not read the request body")
		return
	}
	if !s.authorized(r) {
		// The key itself is never echoed: error bodies end up in logs.
		s.writeError(w, http.StatusUnauthorized, "", "invalid x-api-key")
		return
	}

	f := s.takeFault(r.URL.Path)
	if !sleep(r.Context(), f.HeaderDelay) {
		return
	}
	if f.ResetBeforeHeaders {
		s.cut(w, false)
		return
	}
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Status != 0 && f.Status != http.StatusOK {
		s.writeError(w, f.Status, f.ErrorType, statusMessage(f.Status))
		return
	}
	if f.ResetAfterHeaders || f.Garbage {
		s.writeBroken(w, f, wantsStream(body))
		return
	}

	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages":
		s.messages(w, r, body, f)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages/count_tokens":
		s.countTokens(w, body)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		s.models(w)
	default:
		s.writeError(w, http.StatusNotFound, "", "Not Found")
	}
}

// authorized reports whether r carries the configured key, if there is one.
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.APIKey == "" {
		return true
	}
	want := []byte(s.opts.APIKey)
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("x-api-key")), want) == 1 {
		return true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(token), want) == 1
}

// respond sends the status line and headers, and counts the status.
func (s *Server) respond(w http.ResponseWriter, status int) {
	s.mu.Lock()
	s.stats.ByStatus[status]++
	s.mu.Unlock()
	w.WriteHeader(status)
}

// sleep waits for d, or until ctx ends; it reports whether the wait ran to
// its end. Every pause of the fake goes through it, so that a client that
// gives up never leaves a handler behind.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
