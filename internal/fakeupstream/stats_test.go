package fakeupstream

import (
	"fmt"
	"maps"
	"net/http"
	"testing"

	"github.com/qcc-dev/qcc/internal/sse"
)

func TestStatsCountWhatHappened(t *testing.T) {
	fake := New(Options{Events: 4, InputTokens: 30, CacheReadTokens: 5, CacheCreationTokens: 2})
	ts := serve(t, fake)
	send := func(method, path string, body []byte) {
		t.Helper()
		resp := do(t, method, ts.URL+path, body)
		_, _ = readAll(t, resp)
	}
	send("POST", "/v1/messages?beta=true", requestBody(t, true, "a"))
	send("POST", "/v1/messages", requestBody(t, true, "b"))
	send("POST", "/v1/messages", requestBody(t, false, "c"))
	send("POST", "/v1/messages/count_tokens", requestBody(t, false, "d"))
	send("GET", "/v1/models", nil)
	send("GET", "/nowhere", nil)
	fake.PushFaults(Fault{Status: 529})
	send("POST", "/v1/messages", requestBody(t, true, "e"))

	got := fake.Stats()
	want := Stats{
		Requests:         7,
		ByPath:           map[string]int{"/v1/messages": 4, "/v1/messages/count_tokens": 1, "/v1/models": 1, "/nowhere": 1},
		ByStatus:         map[int]int{200: 5, 404: 1, 529: 1},
		StreamsStarted:   2,
		StreamsCompleted: 2,
		// Three replies; count_tokens serves no tokens.
		Tokens: sse.Usage{Input: 90, Output: 12, CacheRead: 15, CacheCreation: 6},
	}
	if !statsEqual(got, want) {
		t.Errorf("stats\n got %+v\nwant %+v", got, want)
	}
}

// TestStatsReconcileWithClients is the check the proxy's tests rely on: the
// tokens the fake says it served are the tokens its clients can count from
// what they received, whatever went wrong on the way.
func TestStatsReconcileWithClients(t *testing.T) {
	fake := New(Options{Events: 6, CacheReadTokens: 40})
	ts := serve(t, fake)
	faults := []Fault{
		{}, {ResetAfterEvents: 1}, {ResetAfterEvents: 3}, {ResetAfterEvents: 9},
		{ErrorAfterEvents: 5}, {Empty: true}, {Status: 429}, {Garbage: true},
		{ResetBeforeHeaders: true}, {ResetAfterHeaders: true},
	}
	var counted sse.Usage
	for _, stream := range []bool{true, false} {
		for _, f := range faults {
			fake.PushFaults(f)
			req, _ := http.NewRequestWithContext(t.Context(), "POST", ts.URL+"/v1/messages", bytesReader(requestBody(t, stream, "count me")))
			resp, err := ts.Client().Do(req)
			if err != nil {
				continue // reset before headers: nothing to count
			}
			body, _ := readAll(t, resp)
			if resp.StatusCode != http.StatusOK {
				continue
			}
			if stream {
				var tr sse.Tracker
				tr.Observe(body[:sse.Boundary(body)])
				counted = counted.Add(tr.Usage())
			} else if u, ok := sse.JSONUsage(body); ok {
				counted = counted.Add(u)
			}
		}
	}
	if got := fake.Stats().Tokens; got != counted {
		t.Errorf("fake says it served %+v, clients counted %+v", got, counted)
	}
	if counted.IsZero() {
		t.Error("clients counted nothing: the test proves nothing")
	}
}

func TestRequestsAreRecorded(t *testing.T) {
	fake := New(Options{MaxRecorded: 3})
	ts := serve(t, fake)
	for i := range 5 {
		resp := do(t, "POST", ts.URL+fmt.Sprintf("/v1/messages?beta=true&n=%d", i), requestBody(t, false, fmt.Sprint(i)),
			"anthropic-beta", "claude-code-20250219", "x-api-key", "sk-test")
		resp.Body.Close()
	}
	recs := fake.Requests()
	if len(recs) != 3 {
		t.Fatalf("kept %d requests, want the last 3", len(recs))
	}
	for i, rec := range recs {
		n := i + 2
		if rec.Method != "POST" || rec.Path != "/v1/messages" || rec.RawQuery != fmt.Sprintf("beta=true&n=%d", n) {
			t.Errorf("request %d: %s %s ? %s", i, rec.Method, rec.Path, rec.RawQuery)
		}
		if string(rec.Body) != string(requestBody(t, false, fmt.Sprint(n))) {
			t.Errorf("request %d: body %s", i, rec.Body)
		}
		if rec.Header.Get("anthropic-beta") != "claude-code-20250219" || rec.Header.Get("x-api-key") != "sk-test" {
			t.Errorf("request %d: headers %v", i, rec.Header)
		}
	}
	// The headers are the fake's own copy.
	recs[0].Header.Set("anthropic-beta", "changed")
	if fake.Requests()[0].Header.Get("anthropic-beta") != "claude-code-20250219" {
		t.Error("changing a returned header changed the record")
	}
}

func TestRequestsCanBeTurnedOff(t *testing.T) {
	fake := New(Options{MaxRecorded: -1})
	ts := serve(t, fake)
	resp := do(t, "GET", ts.URL+"/v1/models", nil)
	resp.Body.Close()
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("kept %d requests, want none", n)
	}
	if fake.Stats().Requests != 1 {
		t.Error("not keeping requests stopped counting them")
	}
}

func TestReset(t *testing.T) {
	fake := New(Options{})
	ts := serve(t, fake)
	fake.SetFault(Fault{Status: 500})
	fake.PushFaults(Fault{Status: 429})
	resp := do(t, "POST", ts.URL+"/v1/messages", requestBody(t, true, "hi"))
	resp.Body.Close()

	fake.Reset()
	if st := fake.Stats(); !statsEqual(st, newStats()) {
		t.Errorf("stats after Reset: %+v", st)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("%d requests kept after Reset", n)
	}
	resp = do(t, "POST", ts.URL+"/v1/messages", requestBody(t, true, "hi"))
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d after Reset, want 200: faults survived", resp.StatusCode)
	}
}

func TestStatsIsACopy(t *testing.T) {
	fake := New(Options{})
	ts := serve(t, fake)
	resp := do(t, "GET", ts.URL+"/v1/models", nil)
	resp.Body.Close()
	st := fake.Stats()
	st.ByPath["/v1/models"] = 99
	st.ByStatus[200] = 99
	if again := fake.Stats(); again.ByPath["/v1/models"] != 1 || again.ByStatus[200] != 1 {
		t.Errorf("changing a returned Stats changed the fake's: %+v", again)
	}
}

func statsEqual(a, b Stats) bool {
	return a.Requests == b.Requests && maps.Equal(a.ByPath, b.ByPath) && maps.Equal(a.ByStatus, b.ByStatus) &&
		a.Resets == b.Resets && a.StreamsStarted == b.StreamsStarted && a.StreamsCompleted == b.StreamsCompleted &&
		a.Tokens == b.Tokens
}
