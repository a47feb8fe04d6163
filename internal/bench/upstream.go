package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Upstream is a minimal Anthropic-shaped upstream for load runs. Unlike
// internal/fakeupstream it does not decode the request: it only looks for
// "stream":true, so that its own cost stays far below the proxies' and the
// direct row of the table shows the load generator's ceiling, not the
// fake's JSON parser.
//
// The query steers a stream: events=N (default 20) and delay=D (a Go
// duration, default 5ms) between events. A stream is exactly N events:
// message_start, content_block_start, N-5 deltas, content_block_stop,
// message_delta and message_stop.
type Upstream struct{}

// reply is the non-streaming answer: the real API's shape with usage, so
// the proxy's accounting path runs as it would in production.
var reply = []byte(`{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello from the bench upstream."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":8}}`)

var replyLength = strconv.Itoa(len(reply))

var (
	evStart      = []byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n")
	evBlockStart = []byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	evDelta      = []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello from the bench \"}}\n\n")
	evBlockStop  = []byte("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	evMsgDelta   = []byte("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n")
	evStop       = []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
)

// minEvents is the shortest stream Upstream sends: everything but deltas.
const minEvents = 5

// ServeHTTP answers POST /v1/messages, streaming or not.
func (Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var sniff [512]byte
	n, _ := io.ReadFull(r.Body, sniff[:])
	stream := bytes.Contains(sniff[:n], []byte(`"stream":true`))
	_, _ = io.Copy(io.Discard, r.Body)
	if !stream {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{replyLength}
		_, _ = w.Write(reply)
		return
	}
	events, delay, err := streamShape(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header()["Content-Type"] = []string{"text/event-stream; charset=utf-8"}
	rc := http.NewResponseController(w)
	t := time.NewTimer(delay)
	defer t.Stop()
	for i := range events {
		if i > 0 && !wait(r.Context(), t, delay) {
			return
		}
		var ev []byte
		switch {
		case i == 0:
			ev = evStart
		case i == 1:
			ev = evBlockStart
		case i == events-3:
			ev = evBlockStop
		case i == events-2:
			ev = evMsgDelta
		case i == events-1:
			ev = evStop
		default:
			ev = evDelta
		}
		if _, err := w.Write(ev); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

func streamShape(r *http.Request) (events int, delay time.Duration, err error) {
	events, delay = 20, 5*time.Millisecond
	q := r.URL.Query()
	if v := q.Get("events"); v != "" {
		if events, err = strconv.Atoi(v); err != nil || events < minEvents {
			return 0, 0, fmt.Errorf("events: want an integer >= %d", minEvents)
		}
	}
	if v := q.Get("delay"); v != "" {
		if delay, err = time.ParseDuration(v); err != nil || delay < 0 {
			return 0, 0, fmt.Errorf("delay: want a duration >= 0")
		}
	}
	return events, delay, nil
}

// wait pauses on t, which runs for d, or until ctx ends; it reports
// whether the pause ran to its end, and leaves t running for d again.
func wait(ctx context.Context, t *time.Timer, d time.Duration) bool {
	defer t.Reset(d)
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
