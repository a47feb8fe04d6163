package sse

import (
	"bytes"
	"strings"
	"testing"
)

// relay feeds chunks to tr the way the proxy does, holding back a partial
// event until the rest arrives, and returns what the proxy would have written
// to its client.
func relay(tr *Tracker, chunks [][]byte) []byte {
	var written, pending []byte
	for _, c := range chunks {
		pending = append(pending, c...)
		n := Boundary(pending)
		tr.Observe(pending[:n])
		written = append(written, pending[:n]...)
		pending = append(pending[:0], pending[n:]...)
	}
	return written
}

// chunks cuts b into pieces of size bytes (the last may be shorter).
func chunks(b []byte, size int) [][]byte {
	var out [][]byte
	for len(b) > size {
		out = append(out, b[:size])
		b = b[size:]
	}
	return append(out, b)
}

// trackerState is what a Tracker learned, for comparisons.
type trackerState struct {
	Usage     Usage
	Events    int
	Stopped   bool
	Errored   bool
	ErrorType string
}

func stateOf(tr *Tracker) trackerState {
	return trackerState{tr.Usage(), tr.Events(), tr.Stopped(), tr.Errored(), tr.ErrorType()}
}

func TestTrackerOnRealStreams(t *testing.T) {
	tests := []struct {
		file string
		want trackerState
	}{
		{"tool-use.sse", trackerState{
			// Input and cache counts from message_start, output from message_delta.
			Usage:  Usage{Input: 2095, Output: 503, CacheRead: 1800, CacheCreation: 248},
			Events: 24, Stopped: true,
		}},
		{"overloaded.sse", trackerState{
			Usage:  Usage{Input: 2095, Output: 1, CacheRead: 1800, CacheCreation: 248},
			Events: 6, Errored: true, ErrorType: "overloaded_error",
		}},
	}
	for _, tt := range tests {
		stream := readStream(t, tt.file)
		// The same stream with the other line ends the SSE specification
		// allows must read the same.
		variants := map[string][]byte{
			"lf":   stream,
			"crlf": bytes.ReplaceAll(stream, []byte("\n"), []byte("\r\n")),
			"cr":   bytes.ReplaceAll(stream, []byte("\n"), []byte("\r")),
		}
		for ending, s := range variants {
			t.Run(tt.file+"/"+ending+"/whole", func(t *testing.T) {
				var tr Tracker
				if got := relay(&tr, [][]byte{s}); !bytes.Equal(got, s) {
					t.Errorf("relayed %d of %d bytes", len(got), len(s))
				}
				if got := stateOf(&tr); got != tt.want {
					t.Errorf("got %+v\nwant %+v", got, tt.want)
				}
			})
			t.Run(tt.file+"/"+ending+"/every split point", func(t *testing.T) {
				for i := range len(s) + 1 {
					var tr Tracker
					if got := relay(&tr, [][]byte{s[:i], s[i:]}); !bytes.Equal(got, s) {
						t.Fatalf("split at %d: relayed %d of %d bytes", i, len(got), len(s))
					}
					if got := stateOf(&tr); got != tt.want {
						t.Fatalf("split at %d: got %+v\nwant %+v", i, got, tt.want)
					}
				}
			})
			t.Run(tt.file+"/"+ending+"/byte by byte", func(t *testing.T) {
				var tr Tracker
				if got := relay(&tr, chunks(s, 1)); !bytes.Equal(got, s) {
					t.Errorf("relayed %d of %d bytes", len(got), len(s))
				}
				if got := stateOf(&tr); got != tt.want {
					t.Errorf("got %+v\nwant %+v", got, tt.want)
				}
			})
		}
	}
}

func TestTrackerEvents(t *testing.T) {
	const start = "event: message_start\n" +
		`data: {"type":"message_start","message":{"usage":{"input_tokens":10,"cache_read_input_tokens":7,"cache_creation_input_tokens":3,"output_tokens":1}}}` + "\n\n"
	tests := []struct {
		name   string
		stream string
		want   trackerState
	}{
		{
			name:   "nothing",
			stream: "",
			want:   trackerState{},
		},
		{
			name: "message_delta counts are totals: the last wins",
			stream: start +
				"event: message_delta\n" + `data: {"type":"message_delta","usage":{"output_tokens":5}}` + "\n\n" +
				"event: message_delta\n" + `data: {"type":"message_delta","usage":{"output_tokens":9}}` + "\n\n",
			want: trackerState{Usage: Usage{Input: 10, Output: 9, CacheRead: 7, CacheCreation: 3}, Events: 3},
		},
		{
			name: "message_delta fields it carries override message_start",
			stream: start +
				"event: message_delta\n" + `data: {"type":"message_delta","usage":{"input_tokens":12,"cache_read_input_tokens":0,"output_tokens":4}}` + "\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
			want: trackerState{Usage: Usage{Input: 12, Output: 4, CacheRead: 0, CacheCreation: 3}, Events: 3, Stopped: true},
		},
		{
			name: "events without event lines are named by their payload",
			stream: `data: {"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}` + "\n\n" +
				`data: {"type": "ping"}` + "\n\n" +
				`data: { "type" : "message_delta", "usage":{"output_tokens":2}}` + "\n\n" +
				`data: {"type":"message_stop"}` + "\n\n",
			want: trackerState{Usage: Usage{Input: 10, Output: 2}, Events: 4, Stopped: true},
		},
		{
			name: "data split over several lines is joined with newlines",
			stream: "event: message_delta\ndata: {\"type\":\"message_delta\",\ndata: \"usage\":\ndata: {\"output_tokens\":6}}\n\n" +
				"event: error\ndata: {\"type\":\"error\",\ndata: \"error\":{\"type\":\"api_error\",\"message\":\"x\"}}\n\n",
			want: trackerState{Usage: Usage{Output: 6}, Events: 2, Errored: true, ErrorType: "api_error"},
		},
		{
			name:   "comments and unknown fields are ignored",
			stream: ": keep-alive\n\nid: 7\nretry: 100\nevent: message_stop\ndata: {}\n\n",
			want:   trackerState{Events: 1, Stopped: true},
		},
		{
			name:   "an event without data is not dispatched",
			stream: "event: message_stop\n\n",
			want:   trackerState{},
		},
		{
			name:   "an error event that is not JSON still counts as an error",
			stream: "event: error\ndata: upstream exploded\n\n",
			want:   trackerState{Events: 1, Errored: true},
		},
		{
			name:   "malformed usage JSON keeps the earlier count",
			stream: start + "event: message_delta\ndata: {\"usage\":{\"output_tokens\":\"many\"}}\n\n",
			want:   trackerState{Usage: Usage{Input: 10, Output: 1, CacheRead: 7, CacheCreation: 3}, Events: 2},
		},
		{
			name:   "an unterminated last event is ignored",
			stream: "event: message_stop\ndata: {}\n",
			want:   trackerState{},
		},
		{
			name:   "a message_start restarts the count",
			stream: start + `data: {"type":"message_start","message":{"usage":{"input_tokens":4}}}` + "\n\n",
			want:   trackerState{Usage: Usage{Input: 4}, Events: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr Tracker
			tr.Observe([]byte(tt.stream))
			if got := stateOf(&tr); got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestTrackerReadsItsOwnErrorEvent(t *testing.T) {
	var tr Tracker
	tr.Observe(ErrorEvent("overloaded_error", "upstream \"main\" dropped the stream\n\nretry"))
	want := trackerState{Events: 1, Errored: true, ErrorType: "overloaded_error"}
	if got := stateOf(&tr); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestTrackerDoesNotAllocateOnContentDeltas(t *testing.T) {
	events := []string{
		"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":" for you."}}` + "\n\n",
		"event: ping\n" + `data: {"type": "ping"}` + "\n\n",
		"event: content_block_stop\r\n" + `data: {"type":"content_block_stop","index":1}` + "\r\n\r\n",
		`data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"no event line"}}` + "\n\n",
	}
	for _, ev := range events {
		var tr Tracker
		b := []byte(ev)
		if n := testing.AllocsPerRun(100, func() { tr.Observe(b) }); n != 0 {
			t.Errorf("Observe(%q) allocates %v times, want 0", ev, n)
		}
	}
}

func FuzzTracker(f *testing.F) {
	f.Add(readStream(f, "tool-use.sse"), uint16(100), uint8(7))
	f.Add(readStream(f, "overloaded.sse"), uint16(3), uint8(1))
	f.Add([]byte("data: a\r\r\ndata: {\"type\":\"message_stop\"}\r\n\r"), uint16(9), uint8(2))
	f.Add([]byte("event: message_delta\ndata: {\"usage\":{\"output_tokens\":1}}\ndata: x\n\n"), uint16(30), uint8(5))
	f.Fuzz(func(t *testing.T, stream []byte, split uint16, size uint8) {
		// However the stream is cut into chunks, the relay writes the same
		// bytes and the Tracker learns the same things.
		var whole Tracker
		want := relay(&whole, [][]byte{stream})
		if len(want) != Boundary(stream) {
			t.Fatalf("whole relay wrote %d bytes, Boundary says %d", len(want), Boundary(stream))
		}
		at := int(split) % (len(stream) + 1)
		var two Tracker
		if got := relay(&two, [][]byte{stream[:at], stream[at:]}); !bytes.Equal(got, want) {
			t.Fatalf("split at %d: relayed %q, want %q", at, got, want)
		}
		if stateOf(&two) != stateOf(&whole) {
			t.Fatalf("split at %d: %+v, whole: %+v", at, stateOf(&two), stateOf(&whole))
		}
		var many Tracker
		if got := relay(&many, chunks(stream, int(size)+1)); !bytes.Equal(got, want) {
			t.Fatalf("chunks of %d: relayed %q, want %q", int(size)+1, got, want)
		}
		if stateOf(&many) != stateOf(&whole) {
			t.Fatalf("chunks of %d: %+v, whole: %+v", int(size)+1, stateOf(&many), stateOf(&whole))
		}
	})
}

// BenchmarkTrackerObserve measures the per-stream cost of tracking a real
// stream as the relay feeds it, in 512-byte chunks.
func BenchmarkTrackerObserve(b *testing.B) {
	stream := readStream(b, "tool-use.sse")
	var views [][]byte
	var pending []byte
	for _, c := range chunks(stream, 512) {
		pending = append(pending, c...)
		n := Boundary(pending)
		views = append(views, pending[:n])
		pending = bytes.Clone(pending[n:])
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		var tr Tracker
		for _, v := range views {
			tr.Observe(v)
		}
	}
}

// BenchmarkTrackerObserveContentDelta measures the common case on its own:
// one text delta, which must cost no allocation.
func BenchmarkTrackerObserveContentDelta(b *testing.B) {
	ev := []byte("event: content_block_delta\n" + `data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"` +
		strings.Repeat("word ", 8) + `"}}` + "\n\n")
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	var tr Tracker
	for b.Loop() {
		tr.Observe(ev)
	}
}
