package fakeupstream

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/qcc-dev/qcc/internal/sse"
)

// event is one server-sent event of a streamed reply.
type event struct {
	name string
	data []byte
	// tokens is what the event adds to the usage a client has been told:
	// message_start tells the input and first output token, message_delta
	// the rest of the output.
	tokens sse.Usage
	finish bool // message_stop
}

// events returns the event sequence of rep, as the real API sends it.
func (rep *reply) events() []event {
	startUsage := rep.usage
	startUsage.Output = min(rep.usage.Output, 1) // the real API reports the first token here

	evs := []event{
		{name: "message_start", data: mustJSON(struct {
			Type    string      `json:"type"`
			Message messageWire `json:"message"`
		}{"message_start", messageWire{
			ID: rep.id, Type: "message", Role: "assistant", Model: rep.model,
			Content: []textBlock{},
			Usage:   wireUsage(startUsage),
		}}), tokens: startUsage},
	}
	if len(rep.deltas) > 0 {
		evs = append(evs, event{name: "content_block_start", data: mustJSON(struct {
			Type         string    `json:"type"`
			Index        int       `json:"index"`
			ContentBlock textBlock `json:"content_block"`
		}{"content_block_start", 0, textBlock{"text", ""}})})
	}
	// The real API sends its ping with a space after the colon.
	evs = append(evs, event{name: "ping", data: []byte(`{"type": "ping"}`)})
	for _, d := range rep.deltas {
		evs = append(evs, event{name: "content_block_delta", data: mustJSON(struct {
			Type  string    `json:"type"`
			Index int       `json:"index"`
			Delta textBlock `json:"delta"`
		}{"content_block_delta", 0, textBlock{"text_delta", d}})})
	}
	if len(rep.deltas) > 0 {
		evs = append(evs, event{name: "content_block_stop", data: []byte(`{"type":"content_block_stop","index":0}`)})
	}
	type stopDelta struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
	type outputOnly struct {
		OutputTokens int64 `json:"output_tokens"`
	}
	return append(evs,
		event{name: "message_delta", data: mustJSON(struct {
			Type  string    `json:"type"`
			Delta stopDelta `json:"delta"`
			// Only output_tokens, as the classic API sends it: the other
			// counts keep message_start's values.
			Usage outputOnly `json:"usage"`
		}{"message_delta", stopDelta{StopReason: "end_turn"}, outputOnly{rep.usage.Output}}),
			tokens: sse.Usage{Output: rep.usage.Output - startUsage.Output}},
		event{name: "message_stop", data: []byte(`{"type":"message_stop"}`), finish: true},
	)
}

// stream sends rep as server-sent events, each written and flushed on its
// own, delay apart, misbehaving as f says.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, rep reply, f Fault, delay time.Duration) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	// The books are kept before the bytes go out, so that a test reading
	// Stats right after its client saw something finds it counted.
	s.mu.Lock()
	s.stats.StreamsStarted++
	s.mu.Unlock()
	s.respond(w, http.StatusOK)
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}

	for i, ev := range rep.events() {
		if i > 0 && !sleep(r.Context(), delay) {
			return
		}
		if f.ErrorAfterEvents > 0 && i == f.ErrorAfterEvents {
			errType := f.ErrorType
			if errType == "" {
				errType = "overloaded_error"
			}
			_, _ = w.Write(sse.ErrorEvent(errType, errorEventMessage(errType)))
			_ = rc.Flush()
			return
		}
		if f.ResetAfterEvents > 0 && i == f.ResetAfterEvents {
			s.cut(w, true)
			return
		}
		if !ev.tokens.IsZero() {
			s.served(ev.tokens)
		}
		if ev.finish {
			s.mu.Lock()
			s.stats.StreamsCompleted++
			s.mu.Unlock()
		}
		if !writeEvent(w, rc, ev) {
			return
		}
	}
}

// writeEvent writes and flushes one event; it reports whether the client is
// still there.
func writeEvent(w http.ResponseWriter, rc *http.ResponseController, ev event) bool {
	buf := make([]byte, 0, len("event: \ndata: \n\n")+len(ev.name)+len(ev.data))
	buf = append(append(append(buf, "event: "...), ev.name...), "\ndata: "...)
	buf = append(append(buf, ev.data...), "\n\n"...)
	if _, err := w.Write(buf); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// errorEventMessage is the message of an injected error event.
func errorEventMessage(errType string) string {
	if errType == "overloaded_error" {
		return "Overloaded" // the real API's wording
	}
	return "stream interrupted by an injected fault"
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fakeupstream: marshal event: " + err.Error())
	}
	return b
}
