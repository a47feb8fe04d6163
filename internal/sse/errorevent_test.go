package sse

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestErrorEvent(t *testing.T) {
	tests := []struct{ errType, message string }{
		{"overloaded_error", "Overloaded"},
		{"api_error", `upstream "main" closed the stream: unexpected EOF`},
		{"api_error", "line one\nline two\r\n\r\nafter a blank line"},
		{"api_error", "<script>&</script> ünïcødé \u2028 tab\t nul\x00"},
		{"api_error", ""},
	}
	for _, tt := range tests {
		ev := ErrorEvent(tt.errType, tt.message)
		if Boundary(ev) != len(ev) {
			t.Fatalf("ErrorEvent(%q) = %q is not exactly one complete event", tt.message, ev)
		}
		data, ok := bytes.CutPrefix(ev, []byte("event: error\ndata: "))
		if !ok {
			t.Fatalf("ErrorEvent(%q) = %q does not start with the error event line", tt.message, ev)
		}
		data = bytes.TrimSuffix(data, []byte("\n\n"))
		if bytes.ContainsAny(data, "\r\n") {
			t.Fatalf("ErrorEvent(%q) data spans lines: %q", tt.message, data)
		}
		var got struct {
			Type  string `json:"type"`
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("ErrorEvent(%q) data is not JSON: %v", tt.message, err)
		}
		if got.Type != "error" || got.Error.Type != tt.errType || got.Error.Message != tt.message {
			t.Errorf("ErrorEvent(%q, %q) decodes to %+v", tt.errType, tt.message, got)
		}
	}
}
