package fakeupstream

import (
	"github.com/qcc-dev/qcc/internal/testfixture"

	"github.com/qcc-dev/qcc/internal/apierror"

	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/qcc-dev/qcc/internal/sse"
)

func TestMessageReply(t *testing.T) {
	ts := serve(t, New(Options{Events: 4}))
	resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, false, "Reply with the code K7Q2"))
	body, err := readAll(t, resp)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, read error %v, body %q", resp.StatusCode, err, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if resp.Header.Get("request-id") == "" {
		t.Error("no request-id header")
	}
	golden(t, "message.golden.json", body)

	var msg struct {
		ID, Type, Role, Model, StopReason string
		Content                           []struct{ Type, Text string }
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Type != "message" || msg.Role != "assistant" || msg.Model != "claude-sonnet-4-5" || !strings.HasPrefix(msg.ID, "msg_") {
		t.Errorf("message header fields wrong: %+v", msg)
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Content[0].Text != "Reply with the code K7Q2" {
		t.Errorf("content = %+v, want the question echoed in one text block", msg.Content)
	}
	u, ok := sse.JSONUsage(body)
	if want := (sse.Usage{Input: 25, Output: 4}); !ok || u != want {
		t.Errorf("usage = %+v, %v; want %+v", u, ok, want)
	}
}

func TestStreamReply(t *testing.T) {
	ts := serve(t, New(Options{Events: 3, CacheReadTokens: 100, CacheCreationTokens: 7}))
	resp := do(t, "POST", ts.URL+"/v1/messages?beta=true", requestBody(t, true, "say ZX81"))
	body, err := readAll(t, resp)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, read error %v", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type = %q", ct)
	}
	golden(t, "stream.golden.sse", body)

	evs := parseEvents(t, body)
	want := []string{"message_start", "content_block_start", "ping",
		"content_block_delta", "content_block_delta", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop"}
	if got := eventNames(evs); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	var text strings.Builder
	for _, ev := range evs {
		var d struct {
			Type  string
			Delta struct{ Type, Text string }
		}
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil || d.Type != ev.Name {
			t.Fatalf("event %s carries type %q (%v)", ev.Name, d.Type, err)
		}
		if ev.Name == "content_block_delta" {
			text.WriteString(d.Delta.Text)
		}
	}
	if text.String() != "say ZX81" {
		t.Errorf("deltas spell %q, want the question", text.String())
	}
	var tr sse.Tracker
	tr.Observe(body)
	if want := (sse.Usage{Input: 25, Output: 3, CacheRead: 100, CacheCreation: 7}); tr.Usage() != want || !tr.Stopped() {
		t.Errorf("tracker: usage %+v stopped %v; want %+v, true", tr.Usage(), tr.Stopped(), want)
	}
}

func TestReplyText(t *testing.T) {
	fixture := claudeCodeRequest(t)
	tests := []struct {
		name string
		opts Options
		body string
		want string
	}{
		{"options text wins", Options{Text: "fixed"}, `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`, "fixed"},
		{"string content", Options{}, `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`, "hi"},
		{"text blocks are joined, other blocks skipped", Options{},
			`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{}},{"type":"text","text":"b"}]}]}`, "a\nb"},
		{"last user message, not the assistant's", Options{},
			`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"first"},{"role":"assistant","content":"reply"}]}`, "first"},
		{"nothing to echo", Options{},
			`{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":"reply"}]}`, defaultText},
		{"claude code request", Options{}, string(fixture.Body), fixture.lastUserText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := serve(t, New(tt.opts))
			resp := do(t, "POST", ts.URL+"/v1/messages", withoutStream(t, []byte(tt.body)))
			got, err := readAll(t, resp)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, %v: %s", resp.StatusCode, err, got)
			}
			var msg struct{ Content []struct{ Text string } }
			if err := json.Unmarshal(got, &msg); err != nil || len(msg.Content) != 1 {
				t.Fatalf("reply %s (%v)", got, err)
			}
			if msg.Content[0].Text != tt.want {
				t.Errorf("reply text %q, want %q", msg.Content[0].Text, tt.want)
			}
		})
	}
}

func TestClaudeCodeRequestStreams(t *testing.T) {
	fixture := claudeCodeRequest(t)
	ts := serve(t, New(Options{}))
	headers := []string{}
	for k, v := range fixture.Header {
		if k != "Connection" && k != "Accept-Encoding" {
			headers = append(headers, k, v[0])
		}
	}
	resp := do(t, fixture.Method, ts.URL+fixture.Path, fixture.Body, headers...)
	body, err := readAll(t, resp)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	evs := parseEvents(t, body)
	if len(evs) != 16 || evs[len(evs)-1].Name != "message_stop" {
		t.Errorf("got %d events ending in %s, want 16 ending in message_stop", len(evs), evs[len(evs)-1].Name)
	}
}

func TestCountTokens(t *testing.T) {
	ts := serve(t, New(Options{InputTokens: 321}))
	resp := do(t, "POST", ts.URL+"/v1/messages/count_tokens", []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	body, err := readAll(t, resp)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if string(body) != `{"input_tokens":321}` {
		t.Errorf("body %s", body)
	}
}

func TestModels(t *testing.T) {
	for _, tt := range []struct {
		model string
		want  []string
	}{
		{"", defaultModels},
		{"claude-test", []string{"claude-test"}},
	} {
		ts := serve(t, New(Options{Model: tt.model}))
		resp := do(t, "GET", ts.URL+"/v1/models", nil)
		body, err := readAll(t, resp)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, %v", resp.StatusCode, err)
		}
		var page struct {
			Data []struct {
				Type, ID string
			}
			HasMore         *bool  `json:"has_more"`
			FirstID, LastID string `json:"-"`
		}
		if err := json.Unmarshal(body, &page); err != nil || page.HasMore == nil || *page.HasMore {
			t.Fatalf("page %s (%v)", body, err)
		}
		var ids []string
		for _, m := range page.Data {
			if m.Type != "model" {
				t.Errorf("model %s has type %q", m.ID, m.Type)
			}
			ids = append(ids, m.ID)
		}
		if !slices.Equal(ids, tt.want) {
			t.Errorf("models %v, want %v", ids, tt.want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		{"unknown path", "POST", "/v1/complete", `{}`, 404},
		{"wrong method", "GET", "/v1/messages", ``, 404},
		{"root", "GET", "/", ``, 404},
		{"not json", "POST", "/v1/messages", `{"model":`, 400},
		{"no model", "POST", "/v1/messages", `{"max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, 400},
		{"no messages", "POST", "/v1/messages", `{"model":"m","max_tokens":1}`, 400},
		{"no max_tokens", "POST", "/v1/messages", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, 400},
		{"count_tokens without messages", "POST", "/v1/messages/count_tokens", `{"model":"m"}`, 400},
		{"too large", "POST", "/v1/messages", `{"model":"m","pad":"` + strings.Repeat("x", 4096) + `"}`, 413},
	}
	fake := New(Options{})
	fake.maxBody = 4096 // the real limit, 32 MiB, makes a slow test
	ts := serve(t, fake)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, tt.method, ts.URL+tt.path, []byte(tt.body))
			body, err := readAll(t, resp)
			if err != nil || resp.StatusCode != tt.status {
				t.Fatalf("status %d (%v), want %d: %s", resp.StatusCode, err, tt.status, body)
			}
			if typ, _ := apiError(t, body); typ != apierror.Type(tt.status) {
				t.Errorf("error type %q, want %q", typ, apierror.Type(tt.status))
			}
		})
	}
}

func TestAPIKey(t *testing.T) {
	const key = "sk-ant-fake-0123456789"
	ts := serve(t, New(Options{APIKey: key}))
	tests := []struct {
		name    string
		headers []string
		status  int
	}{
		{"x-api-key", []string{"x-api-key", key}, 200},
		{"bearer", []string{"Authorization", "Bearer " + key}, 200},
		{"missing", nil, 401},
		{"wrong x-api-key", []string{"x-api-key", key + "x"}, 401},
		{"prefix of the key", []string{"x-api-key", key[:10]}, 401},
		{"bearer without scheme", []string{"Authorization", key}, 401},
		{"wrong bearer beside a wrong x-api-key", []string{"x-api-key", "nope", "Authorization", "Bearer nope"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, false, "hi"), tt.headers...)
			body, err := readAll(t, resp)
			if err != nil || resp.StatusCode != tt.status {
				t.Fatalf("status %d (%v), want %d", resp.StatusCode, err, tt.status)
			}
			if tt.status != 401 {
				return
			}
			if typ, _ := apiError(t, body); typ != "authentication_error" {
				t.Errorf("error type %q", typ)
			}
			if strings.Contains(string(body), key[:10]) {
				t.Errorf("the 401 body leaks the key: %s", body)
			}
		})
	}
}

func TestErrorTypes(t *testing.T) {
	want := map[int]string{
		400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
		403: "permission_error", 404: "not_found_error", 409: "invalid_request_error",
		413: "request_too_large", 422: "invalid_request_error", 429: "rate_limit_error",
		500: "api_error", 502: "api_error", 503: "api_error", 504: "timeout_error",
		529: "overloaded_error",
	}
	for status, typ := range want {
		if got := apierror.Type(status); got != typ {
			t.Errorf("apierror.Type(%d) = %q, want %q", status, got, typ)
		}
	}
}

// withoutStream returns body asking for a non-streaming reply.
func withoutStream(t *testing.T, body []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "stream")
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// claudeCodeFixture is the real Claude Code request, with the text of its
// last user turn.
type claudeCodeFixture struct {
	testfixture.Request
	lastUserText string
}

func claudeCodeRequest(t *testing.T) claudeCodeFixture {
	t.Helper()
	fx := testfixture.ClaudeCode()
	var req messagesRequest
	if err := json.Unmarshal(fx.Body, &req); err != nil {
		t.Fatal(err)
	}
	return claudeCodeFixture{fx, lastUserText(req.Messages)}
}
