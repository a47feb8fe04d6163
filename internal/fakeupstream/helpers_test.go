package fakeupstream

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// serve starts s on loopback for the length of the test.
func serve(t *testing.T, s *Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

// requestBody returns a Messages body asking the given question.
func requestBody(t *testing.T, stream bool, question string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"model":      "claude-sonnet-4-5",
		"max_tokens": 1024,
		"stream":     stream,
		"messages":   []any{map[string]any{"role": "user", "content": question}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// do sends a request with the given headers (name, value, name, value...).
// The caller closes the body.
func do(t *testing.T, method, url string, body []byte, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp
}

// readAll reads a body to its end and returns what arrived and how it ended.
func readAll(t *testing.T, resp *http.Response) ([]byte, error) {
	t.Helper()
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// apiError decodes an Anthropic error body, failing the test if the body
// has another shape.
func apiError(t *testing.T, body []byte) (errType, message string) {
	t.Helper()
	var e struct {
		Type  string `json:"type"`
		Error *struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Type != "error" || e.Error == nil || e.Error.Type == "" {
		t.Fatalf("not an Anthropic error body: %q", body)
	}
	return e.Error.Type, e.Error.Message
}

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	Name string
	Data string
}

// parseEvents splits a stream body into events. Events must be well formed:
// an event line, a data line, a blank line.
func parseEvents(t *testing.T, body []byte) []sseEvent {
	t.Helper()
	var out []sseEvent
	for _, raw := range strings.SplitAfter(string(body), "\n\n") {
		if raw == "" {
			continue
		}
		name, rest, ok1 := strings.Cut(raw, "\n")
		name, ok2 := strings.CutPrefix(name, "event: ")
		data, ok3 := strings.CutPrefix(rest, "data: ")
		data, ok4 := strings.CutSuffix(data, "\n\n")
		if !ok1 || !ok2 || !ok3 || !ok4 || strings.Contains(data, "\n") {
			t.Fatalf("malformed event %q", raw)
		}
		if !json.Valid([]byte(data)) {
			t.Fatalf("event %s: data is not JSON: %q", name, data)
		}
		out = append(out, sseEvent{name, data})
	}
	return out
}

func eventNames(evs []sseEvent) []string {
	names := make([]string, len(evs))
	for i, ev := range evs {
		names[i] = ev.Name
	}
	return names
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
