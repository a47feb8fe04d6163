package fakeupstream

import (
	"github.com/qcc-dev/qcc/internal/apierror"

	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/sse"
)

func TestStatusFault(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 413, 429, 500, 502, 503, 504, 529} {
		fake := New(Options{})
		ts := serve(t, fake)
		fake.SetFault(Fault{Status: status, RetryAfter: "7", Header: http.Header{"Anthropic-Ratelimit-Requests-Remaining": {"0"}}})
		for _, stream := range []bool{false, true} {
			resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, stream, "hi"))
			body, err := readAll(t, resp)
			if err != nil || resp.StatusCode != status {
				t.Fatalf("status %d (%v), want %d", resp.StatusCode, err, status)
			}
			if typ, msg := apiError(t, body); typ != apierror.Type(status) || msg == "" {
				t.Errorf("%d: error %q %q, want type %q", status, typ, msg, apierror.Type(status))
			}
			if resp.Header.Get("Retry-After") != "7" || resp.Header.Get("anthropic-ratelimit-requests-remaining") != "0" {
				t.Errorf("%d: fault headers missing: %v", status, resp.Header)
			}
		}
	}
}

func TestErrorTypeOverride(t *testing.T) {
	fake := New(Options{})
	ts := serve(t, fake)
	fake.SetFault(Fault{Status: 400, ErrorType: "billing_error"})
	resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, false, "hi"))
	body, _ := readAll(t, resp)
	if typ, _ := apiError(t, body); typ != "billing_error" {
		t.Errorf("error type %q, want billing_error", typ)
	}
}

func TestHeaderFaultOnSuccess(t *testing.T) {
	fake := New(Options{})
	ts := serve(t, fake)
	fake.SetFault(Fault{Header: http.Header{"Anthropic-Ratelimit-Tokens-Remaining": {"12"}}})
	resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, true, "hi"))
	if _, err := readAll(t, resp); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if got := resp.Header.Get("anthropic-ratelimit-tokens-remaining"); got != "12" {
		t.Errorf("rate-limit header %q, want 12", got)
	}
}

func TestResetBeforeHeaders(t *testing.T) {
	fake := New(Options{})
	ts := serve(t, fake)
	fake.SetFault(Fault{ResetBeforeHeaders: true})
	req, _ := http.NewRequestWithContext(t.Context(), "POST", ts.URL+"/v1/messages", strings.NewReader(string(requestBody(t, true, "hi"))))
	resp, err := ts.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got a response (%d), want a connection error", resp.StatusCode)
	}
	if st := fake.Stats(); st.Resets != 1 || len(st.ByStatus) != 0 {
		t.Errorf("stats %+v, want one reset and no status", st)
	}
}

func TestResetAfterHeaders(t *testing.T) {
	for _, stream := range []bool{false, true} {
		fake := New(Options{})
		ts := serve(t, fake)
		fake.SetFault(Fault{ResetAfterHeaders: true})
		resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, stream, "hi"))
		body, err := readAll(t, resp)
		if resp.StatusCode != 200 || err == nil || len(body) != 0 {
			t.Errorf("stream=%v: status %d, %d body bytes, err %v; want 200, nothing, an error", stream, resp.StatusCode, len(body), err)
		}
	}
}

func TestResetAfterEventsInStream(t *testing.T) {
	for _, n := range []int{1, 2, 5, 8} {
		fake := New(Options{Events: 5})
		ts := serve(t, fake)
		fake.SetFault(Fault{ResetAfterEvents: n})
		resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, true, "hello world"))
		body, err := readAll(t, resp)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("after %d events: read error %v, want unexpected EOF", n, err)
		}
		if evs := parseEvents(t, body); len(evs) != n {
			t.Errorf("got %d events %v, want exactly %d", len(evs), eventNames(evs), n)
		}
		// The fake's books say what the client could have read: the input
		// tokens of message_start, the first output token, no completion.
		st := fake.Stats()
		if want := (sse.Usage{Input: 25, Output: 1}); st.Tokens != want || st.StreamsStarted != 1 || st.StreamsCompleted != 0 || st.Resets != 1 {
			t.Errorf("after %d events: stats %+v", n, st)
		}
	}
}

func TestResetAfterEventsInMessage(t *testing.T) {
	fake := New(Options{})
	ts := serve(t, fake)
	fake.SetFault(Fault{ResetAfterEvents: 1})
	resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, false, "hello world"))
	body, err := readAll(t, resp)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read error %v, want unexpected EOF", err)
	}
	if resp.ContentLength <= 0 || int64(len(body)) != resp.ContentLength/2 {
		t.Errorf("got %d bytes of a Content-Length %d, want half", len(body), resp.ContentLength)
	}
	if st := fake.Stats(); !st.Tokens.IsZero() {
		t.Errorf("tokens %+v counted for a reply the client could not read", st.Tokens)
	}
}

func TestErrorAfterEvents(t *testing.T) {
	fake := New(Options{Events: 5})
	ts := serve(t, fake)
	fake.SetFault(Fault{ErrorAfterEvents: 4})
	resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, true, "hello world"))
	body, err := readAll(t, resp)
	if err != nil {
		t.Fatalf("read error %v: the stream should end cleanly", err)
	}
	evs := parseEvents(t, body)
	want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "error"}
	if !slices.Equal(eventNames(evs), want) {
		t.Fatalf("events %v, want %v", eventNames(evs), want)
	}
	var tr sse.Tracker
	tr.Observe(body)
	if !tr.Errored() || tr.ErrorType() != "overloaded_error" || tr.Stopped() {
		t.Errorf("tracker: errored %v type %q stopped %v", tr.Errored(), tr.ErrorType(), tr.Stopped())
	}
}

func TestGarbage(t *testing.T) {
	for _, stream := range []bool{false, true} {
		fake := New(Options{})
		ts := serve(t, fake)
		fake.SetFault(Fault{Garbage: true})
		resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, stream, "hi"))
		body, err := readAll(t, resp)
		if err != nil || resp.StatusCode != 200 || len(body) == 0 {
			t.Fatalf("status %d, %d bytes, %v", resp.StatusCode, len(body), err)
		}
		if _, ok := sse.JSONUsage(body); ok {
			t.Errorf("garbage body parses as a message: %s", body)
		}
		if sse.Boundary(body) != 0 {
			t.Errorf("garbage body holds an SSE event: %s", body)
		}
		wantType := "application/json"
		if stream {
			wantType = "text/event-stream"
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, wantType) {
			t.Errorf("stream=%v: Content-Type %q, want %s", stream, ct, wantType)
		}
	}
}

func TestEmpty(t *testing.T) {
	fake := New(Options{})
	ts := serve(t, fake)
	fake.SetFault(Fault{Empty: true})

	resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, false, "hi"))
	body, _ := readAll(t, resp)
	if !strings.Contains(string(body), `"content":[]`) {
		t.Errorf("body %s, want an empty content array", body)
	}
	resp = do(t, "POST", ts.URL+"/v1/messages", requestBody(t, true, "hi"))
	body, _ = readAll(t, resp)
	want := []string{"message_start", "ping", "message_delta", "message_stop"}
	if got := eventNames(parseEvents(t, body)); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

// TestEventDelay checks only lower bounds, which a slow machine cannot
// break: the events of a stream are spaced at least EventDelay apart.
func TestEventDelay(t *testing.T) {
	const delay = 20 * time.Millisecond
	fake := New(Options{Events: 3})
	ts := serve(t, fake)
	fake.SetFault(Fault{EventDelay: delay})
	resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, true, "hi"))
	defer resp.Body.Close()
	buf := make([]byte, 0, 4096)
	var arrivals []time.Time
	chunk := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for k := len(arrivals); k < strings.Count(string(buf), "\n\n"); k++ {
			arrivals = append(arrivals, time.Now())
		}
		if err != nil {
			break
		}
	}
	if len(arrivals) != 9 {
		t.Fatalf("got %d events, want 9", len(arrivals))
	}
	// Arrival times are taken after each read, so consecutive events can
	// look closer than they were sent; the whole stream cannot.
	if total := arrivals[len(arrivals)-1].Sub(arrivals[0]); total < 8*delay {
		t.Errorf("stream took %v from first to last event, want at least %v", total, 8*delay)
	}
}

func TestHeaderDelayEndsWhenTheClientGivesUp(t *testing.T) {
	fake := New(Options{})
	ts := serve(t, fake)
	fake.SetFault(Fault{HeaderDelay: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/messages", strings.NewReader(string(requestBody(t, false, "hi"))))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("got %d before an hour passed", resp.StatusCode)
	}
	// ts.Close in the cleanup would hang for the hour if the handler did
	// not notice the client leave.
}

func TestFaultPath(t *testing.T) {
	fake := New(Options{})
	ts := serve(t, fake)
	fake.SetFault(Fault{Path: "/v1/messages", Status: 529})
	if resp := do(t, "GET", ts.URL+"/v1/models", nil); resp.StatusCode != 200 {
		t.Errorf("models: %d, want 200: the fault is for /v1/messages", resp.StatusCode)
	}
	if resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, false, "hi")); resp.StatusCode != 529 {
		t.Errorf("messages: %d, want 529", resp.StatusCode)
	}
}

func TestPushFaults(t *testing.T) {
	fake := New(Options{})
	ts := serve(t, fake)
	fake.SetFault(Fault{Status: 500})
	fake.PushFaults(Fault{Status: 429}, Fault{Path: "/v1/models", Status: 403}, Fault{Status: 529})

	steps := []struct {
		method, path string
		want         int
	}{
		{"POST", "/v1/messages", 429}, // first queued
		{"POST", "/v1/messages", 529}, // the models fault waits for its path
		{"GET", "/v1/models", 403},
		{"POST", "/v1/messages", 500}, // queue empty: the standing fault
	}
	for i, s := range steps {
		resp := do(t, s.method, ts.URL+s.path, requestBody(t, false, "hi"))
		resp.Body.Close()
		if resp.StatusCode != s.want {
			t.Errorf("request %d (%s): %d, want %d", i, s.path, resp.StatusCode, s.want)
		}
	}
	fake.ClearFault()
	if resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, false, "hi")); resp.StatusCode != 200 {
		t.Errorf("after ClearFault: %d, want 200", resp.StatusCode)
	}
}

func TestUnauthorizedRequestTakesNoFault(t *testing.T) {
	fake := New(Options{APIKey: "k"})
	ts := serve(t, fake)
	fake.PushFaults(Fault{Status: 529})
	if resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, false, "hi")); resp.StatusCode != 401 {
		t.Fatalf("no key: %d, want 401", resp.StatusCode)
	}
	if resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, false, "hi"), "x-api-key", "k"); resp.StatusCode != 529 {
		t.Errorf("with key: %d, want the queued 529", resp.StatusCode)
	}
}

func TestSetFaultCopiesHeaders(t *testing.T) {
	fake := New(Options{})
	ts := serve(t, fake)
	h := http.Header{"X-Test": {"before"}}
	fake.SetFault(Fault{Header: h})
	h.Set("X-Test", "after")
	resp := do(t, "GET", ts.URL+"/v1/models", nil)
	resp.Body.Close()
	if got := resp.Header.Get("X-Test"); got != "before" {
		t.Errorf("X-Test = %q, want the value at SetFault time", got)
	}
}

// TestFaultsChangeUnderLoad changes faults while requests run; under -race
// it proves the fault and stats state is guarded.
func TestFaultsChangeUnderLoad(t *testing.T) {
	fake := New(Options{Events: 3})
	ts := serve(t, fake)
	const clients, each = 4, 15
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := range each {
				resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, i%2 == 0, "hi"))
				_, _ = readAll(t, resp)
			}
		})
	}
	for i := range 30 {
		switch i % 4 {
		case 0:
			fake.SetFault(Fault{Status: 529})
		case 1:
			fake.PushFaults(Fault{Empty: true}, Fault{Header: http.Header{"X-A": {"b"}}})
		case 2:
			fake.ClearFault()
		case 3:
			_ = fake.Stats()
			_ = fake.Requests()
		}
	}
	wg.Wait()
	if st := fake.Stats(); st.Requests != clients*each {
		t.Errorf("counted %d requests, want %d", st.Requests, clients*each)
	}
}
