package sse

import (
	"encoding/json"
	"os"
	"testing"
)

func TestJSONUsage(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   Usage
		wantOK bool
	}{
		{
			name: "message",
			body: `{"id":"msg_01","type":"message","role":"assistant","content":[{"type":"text","text":"hi"}],` +
				`"model":"claude-sonnet-4-5","stop_reason":"end_turn","stop_sequence":null,` +
				`"usage":{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":100,"output_tokens":12,"service_tier":"standard"}}`,
			want:   Usage{Input: 25, Output: 12, CacheRead: 100, CacheCreation: 3},
			wantOK: true,
		},
		{
			name:   "usage without cache counts",
			body:   `{"type":"message","usage":{"input_tokens":25,"output_tokens":12}}`,
			want:   Usage{Input: 25, Output: 12},
			wantOK: true,
		},
		{
			name: "error object",
			body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
		},
		{
			name: "error object that somehow carries usage",
			body: `{"type":"error","error":{"type":"api_error","message":"x"},"usage":{"input_tokens":1}}`,
		},
		{
			name: "count_tokens reply has no usage",
			body: `{"input_tokens":25}`,
		},
		{name: "empty", body: ""},
		{name: "html from a broken relay", body: "<html><body>502 Bad Gateway</body></html>"},
		{name: "truncated", body: `{"type":"message","usage":{"input_tokens":25,"outp`},
		// Edges where a scan could part from encoding/json, pinned to what
		// encoding/json does (FuzzUsage checks the rest).
		{name: "names match case-insensitively", body: `{"Type":"message","USAGE":{"Input_Tokens":7}}`, want: Usage{Input: 7}, wantOK: true},
		{name: "last duplicate count wins", body: `{"usage":{"output_tokens":1,"output_tokens":2}}`, want: Usage{Output: 2}, wantOK: true},
		{name: "duplicate usage objects merge", body: `{"usage":{"input_tokens":1},"usage":{"output_tokens":2}}`, want: Usage{Input: 1, Output: 2}, wantOK: true},
		{name: "null usage resets", body: `{"usage":{"input_tokens":1},"usage":null}`},
		{name: "null count unsets", body: `{"usage":{"input_tokens":1,"input_tokens":null}}`, wantOK: true},
		{name: "float count fails the body", body: `{"usage":{"input_tokens":1.0,"output_tokens":2}}`},
		{name: "string count fails the body", body: `{"usage":{"input_tokens":"1"}}`},
		{name: "type of another kind fails the body", body: `{"type":1,"usage":{"input_tokens":1}}`},
		{name: "escaped type", body: `{"type":"\u0065rror","usage":{"input_tokens":1}}`},
		{name: "usage not an object", body: `{"usage":[1]}`},
		{name: "top level null", body: `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := JSONUsage([]byte(tt.body))
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("JSONUsage = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestUsageAddAndIsZero(t *testing.T) {
	a := Usage{Input: 1, Output: 2, CacheRead: 3, CacheCreation: 4}
	b := Usage{Input: 10, Output: 20, CacheRead: 30, CacheCreation: 40}
	if got, want := a.Add(b), (Usage{11, 22, 33, 44}); got != want {
		t.Errorf("Add = %+v, want %+v", got, want)
	}
	if !(Usage{}).IsZero() {
		t.Error("zero Usage is not IsZero")
	}
	if (Usage{CacheCreation: 1}).IsZero() {
		t.Error("Usage with a cache count is IsZero")
	}
}

// refJSONUsage is JSONUsage as encoding/json reads it, the reference the
// scan must agree with.
func refJSONUsage(body []byte) (Usage, bool) {
	var msg struct {
		Type  string     `json:"type"`
		Usage *usageJSON `json:"usage"`
	}
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type == "error" || msg.Usage == nil {
		return Usage{}, false
	}
	var u Usage
	msg.Usage.mergeInto(&u)
	return u, true
}

// refStartUsage and refDeltaUsage are the Tracker's readings of
// message_start and message_delta by encoding/json, merged into prev.
func refStartUsage(prev Usage, data []byte) Usage {
	var ev struct {
		Message struct {
			Usage usageJSON `json:"usage"`
		} `json:"message"`
	}
	if json.Unmarshal(data, &ev) != nil {
		return prev
	}
	var u Usage
	ev.Message.Usage.mergeInto(&u)
	return u
}

func refDeltaUsage(prev Usage, data []byte) Usage {
	var ev struct {
		Usage usageJSON `json:"usage"`
	}
	if json.Unmarshal(data, &ev) == nil {
		ev.Usage.mergeInto(&prev)
	}
	return prev
}

type usageJSON struct {
	Input         *int64 `json:"input_tokens"`
	Output        *int64 `json:"output_tokens"`
	CacheRead     *int64 `json:"cache_read_input_tokens"`
	CacheCreation *int64 `json:"cache_creation_input_tokens"`
}

func (w *usageJSON) mergeInto(u *Usage) {
	for _, f := range []struct{ dst, src *int64 }{{&u.Input, w.Input}, {&u.Output, w.Output}, {&u.CacheRead, w.CacheRead}, {&u.CacheCreation, w.CacheCreation}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
}

// FuzzUsage holds the usage scans to encoding/json on every well-formed
// payload: a reply body, a message_start and a message_delta.
func FuzzUsage(f *testing.F) {
	for _, tt := range []string{
		`{"type":"message","usage":{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":100,"output_tokens":12}}`,
		`{"type":"message_start","message":{"id":"m","usage":{"input_tokens":25,"output_tokens":1}}}`,
		`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}`,
		`{"Usage":{"OUTPUT_TOKENS":1},"usage":null,"usage":{"input_tokens":-0}}`,
		`{"message":null,"message":{"usage":{"input_tokens":1e3}}}`,
		` null `,
		`{"type":"\u0065rror","usage":{}}`,
	} {
		f.Add([]byte(tt))
	}
	if b, err := os.ReadFile("testdata/tool-use.sse"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := JSONUsage(data)
		if !json.Valid(data) {
			return // the scan need not reject all that is malformed
		}
		if want, wantOK := refJSONUsage(data); got != want || ok != wantOK {
			t.Fatalf("JSONUsage(%q) = %+v, %v; encoding/json: %+v, %v", data, got, ok, want, wantOK)
		}
		prev := Usage{Input: 1, Output: 2, CacheRead: 3, CacheCreation: 4}
		var start, delta Usage
		if w, ok := startUsage(data); ok {
			w.mergeInto(&start)
		} else {
			start = prev
		}
		if want := refStartUsage(prev, data); start != want {
			t.Fatalf("message_start %q: %+v; encoding/json: %+v", data, start, want)
		}
		delta = prev
		if w, ok := deltaUsage(data); ok {
			w.mergeInto(&delta)
		}
		if want := refDeltaUsage(prev, data); delta != want {
			t.Fatalf("message_delta %q: %+v; encoding/json: %+v", data, delta, want)
		}
	})
}

// BenchmarkJSONUsage reads the usage of a typical small reply.
func BenchmarkJSONUsage(b *testing.B) {
	body := []byte(`{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":8}}`)
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			JSONUsage(body)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			refJSONUsage(body)
		}
	})
}
