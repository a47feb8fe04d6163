package proxy

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/qcc-dev/qcc/internal/sse"
)

// relayBufSize is the read size for non-streaming upstream bodies.
const relayBufSize = 16 << 10

// streamBufSize is the first read size of a stream. An SSE event from the
// API is small (a delta is ~100 bytes, message_start ~500), and an idle
// stream holds its buffer for as long as it lasts, a thousand streams a
// thousand buffers; an event that does not fit grows it. A burst of events
// larger than the buffer leaves in two writes instead of one.
const streamBufSize = 1 << 10

// maxPendingEvent bounds the partial event kept while waiting for its end.
// Past it, framing is given up and bytes pass through as they come, so a
// peer that never ends an event cannot make qccd buffer without limit.
const maxPendingEvent = 1 << 20

// streamEnd says how a relayed stream ended.
type streamEnd int

const (
	streamDone       streamEnd = iota // upstream finished (message_stop, or an error event it sent itself)
	streamBroken                      // upstream broke off; qccd framed an error event
	streamClientGone                  // the client stopped reading
)

func isEventStream(h http.Header) bool {
	ct := h.Get("Content-Type")
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "text/event-stream"
}

// relayStream copies an SSE body to the client event by event: every
// complete event is written and flushed as soon as it is read, and a partial
// one waits for its end. The headers leave with the first event, or alone
// after headerWait (see headerFlush). If the upstream breaks off, the partial event is
// dropped and a well-formed error event takes its place, so the client never
// parses half an event and always learns the stream failed.
//
// A read that fails because the client left (ctx is the client's request
// context) is the client's doing, not a broken upstream.
func relayStream(ctx context.Context, w http.ResponseWriter, body io.Reader, buf []byte, t *sse.Tracker) (streamEnd, string) {
	flusher, _ := w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	hf := startHeaderFlush(flush)
	defer hf.settle()

	pending := buf[:0]
	framing := true
	for {
		if len(pending) == cap(pending) {
			if cap(pending) >= maxPendingEvent {
				framing = false // see maxPendingEvent
			} else {
				pending = append(pending, 0)[:len(pending)]
			}
		}
		n, err := body.Read(pending[len(pending):cap(pending)])
		pending = pending[:len(pending)+n]

		end := len(pending)
		if framing {
			end = sse.Boundary(pending)
		}
		if end > 0 {
			hf.settle()
			if _, werr := w.Write(pending[:end]); werr != nil {
				return streamClientGone, "client write failed"
			}
			flush()
			if framing {
				t.Observe(pending[:end])
			}
			pending = pending[:copy(pending, pending[end:])]
		}

		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF) && (t.Stopped() || t.Errored()):
			return streamDone, ""
		case ctx.Err() != nil:
			return streamClientGone, "client left"
		}
		reason := "upstream closed the stream before message_stop"
		if !errors.Is(err, io.EOF) {
			reason = "upstream stream broke off: " + describe(err)
		}
		hf.settle()
		if _, werr := w.Write(sse.ErrorEvent("api_error", "qccd: "+reason)); werr != nil {
			return streamClientGone, "client write failed"
		}
		flush()
		return streamBroken, reason
	}
}

// errBodyBroken marks a non-streaming body that ended early.
var errBodyBroken = errors.New("upstream body broke off")

// relayBody copies a non-streaming body. capture, when not nil, receives up
// to maxCapture bytes of the body for usage accounting. A body that breaks off
// returns errBodyBroken; the caller must then abort the connection so the
// client never mistakes a truncated body for a complete one.
func relayBody(ctx context.Context, w http.ResponseWriter, body io.Reader, buf []byte, capture *[]byte, flushEach bool) error {
	flusher, _ := w.(http.Flusher)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if flushEach && flusher != nil {
				flusher.Flush()
			}
			if capture != nil && len(*capture)+n <= maxCapture {
				*capture = append(*capture, buf[:n]...)
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			return errBodyBroken
		}
	}
}

// isJSON reports whether a response is a JSON body in an encoding whose
// usage qccd can read.
func isJSON(h http.Header) bool {
	return strings.HasPrefix(h.Get("Content-Type"), "application/json") && readableEncoding(h.Get("Content-Encoding"))
}
