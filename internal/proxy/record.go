package proxy

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/sse"
)

// Record is what qccd knows about one finished request: the source of its
// log line and of its statistics. It holds no body, header or key.
type Record struct {
	Cluster  string
	Endpoint string // the last endpoint tried; empty when none was
	Method   string
	Path     string
	Status   int // the status the client got; 499 when it left first
	Attempts int

	Start    time.Time
	TTFB     time.Duration // from arrival to the response's first byte
	Duration time.Duration

	Stream      bool
	Usage       sse.Usage
	StreamError string // why a response broke off after its first byte
	ClientGone  bool
	Err         string // qccd's own error message, when it answered itself

	// Failed lists, in order, the attempts that failed before the first
	// response byte and were retried or given up on. It stays nil on the
	// usual single successful attempt, so it costs nothing then. The
	// attempt that produced the response, if any, is not in it: it is the
	// last of Attempts, on Endpoint.
	Failed []FailedAttempt

	logged bool
}

// FailedAttempt is one attempt that failed before the first response byte.
type FailedAttempt struct {
	Endpoint string
	Status   int // what the endpoint answered; 0 when it answered nothing
}

// finish completes the record, logs its line and hands it on, once.
func (h *Handler) finish(rec *Record) {
	if rec.logged {
		return
	}
	rec.logged = true
	rec.Duration = time.Since(rec.Start)
	if h.opts.OnRecord != nil {
		h.opts.OnRecord(rec)
	}
	level := zerolog.InfoLevel
	if rec.StreamError != "" || rec.Status >= 500 {
		level = zerolog.WarnLevel
	}
	e := h.opts.Log.WithLevel(level)
	if e == nil {
		return // the level is off: build nothing
	}
	e = e.Str("cluster", rec.Cluster).
		Str("endpoint", rec.Endpoint).
		Str("method", rec.Method).
		Str("path", rec.Path).
		Int("status", rec.Status).
		Int("attempts", rec.Attempts).
		Dur("ttfb", rec.TTFB).
		Dur("duration", rec.Duration).
		Bool("stream", rec.Stream)
	if !rec.Usage.IsZero() {
		e = e.Int64("input_tokens", rec.Usage.Input).
			Int64("output_tokens", rec.Usage.Output).
			Int64("cache_read_tokens", rec.Usage.CacheRead).
			Int64("cache_creation_tokens", rec.Usage.CacheCreation)
	}
	if rec.StreamError != "" {
		e = e.Str("stream_error", rec.StreamError)
	}
	if rec.ClientGone {
		e = e.Bool("client_gone", true)
	}
	if rec.Err != "" {
		e = e.Str("error", rec.Err)
	}
	e.Msg("request")
}
