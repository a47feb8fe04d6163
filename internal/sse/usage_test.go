package sse

import "testing"

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
