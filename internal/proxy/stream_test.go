package proxy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

var oneEndpoint = []string{`name = "a"
base_url = "%s"
api_key = "%s"`}

// TestMidStreamResetEndsInErrorEvent: once the first byte is out there is
// no retry; an upstream that dies mid-stream leaves the client a
// well-formed stream that ends in an Anthropic error event, never half an
// event, and the endpoint is charged with a failure.
func TestMidStreamResetEndsInErrorEvent(t *testing.T) {
	for _, after := range []int{1, 2, 4, 7} {
		t.Run(fmt.Sprint(after), func(t *testing.T) {
			r := newRig(t, ``, append(oneEndpoint, `name = "b"
base_url = "%s"
api_key = "%s"
priority = 2`))
			r.ups[0].SetFault(fakeupstream.Fault{ResetAfterEvents: after})
			resp, body := r.do(r.request("POST", "/v1/messages", messageBody(true)))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			evs := parseSSE(t, body)
			if len(evs) != after+1 {
				t.Errorf("client got %d events, want the %d sent plus the error", len(evs), after)
			}
			last := evs[len(evs)-1]
			if last.name != "error" || !strings.Contains(last.data, `"api_error"`) {
				t.Errorf("last event %s %s, want an api_error event", last.name, last.data)
			}
			if n := r.ups[1].Stats().Requests; n != 0 {
				t.Errorf("retried after the first byte: backup saw %d requests", n)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if rec := r.records[len(r.records)-1]; rec.StreamError == "" {
				t.Errorf("the record does not say the stream broke")
			}
		})
	}
}

// TestUpstreamErrorEventPassesThrough: an error event the API sends itself
// (overloaded mid-stream) reaches the client as is.
func TestUpstreamErrorEventPassesThrough(t *testing.T) {
	r := newRig(t, ``, oneEndpoint)
	r.ups[0].SetFault(fakeupstream.Fault{ErrorAfterEvents: 3})
	_, body := r.do(r.request("POST", "/v1/messages", messageBody(true)))
	evs := parseSSE(t, body)
	if last := evs[len(evs)-1]; last.name != "error" || !strings.Contains(last.data, "overloaded_error") {
		t.Errorf("last event %s %s", last.name, last.data)
	}
	if strings.Count(string(body), "event: error") != 1 {
		t.Errorf("qccd added its own error event to the upstream's")
	}
}

// TestNonStreamingBodyBreakOffAbortsConnection: a JSON body cut short must
// never reach the client as a complete 200.
func TestNonStreamingBodyBreakOffAbortsConnection(t *testing.T) {
	r := newRig(t, ``, oneEndpoint)
	r.ups[0].SetFault(fakeupstream.Fault{ResetAfterEvents: 1})
	resp, err := http.DefaultClient.Do(r.request("POST", "/v1/messages", messageBody(false)))
	if err != nil {
		return // aborted before the headers: also not a complete 200
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("read a complete %d response from a broken upstream body: %q", resp.StatusCode, body)
	}
	if json.Valid(body) {
		t.Errorf("the truncated body is valid JSON")
	}
}

// TestEventsArriveAsSent measures, for every event, the gap between the
// upstream writing it and the client reading it. With events 200 ms apart,
// any buffering in the proxy shows as a gap of 200 ms or more.
func TestEventsArriveAsSent(t *testing.T) {
	const events, spacing = 10, 200 * time.Millisecond
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		send := func(name, data string) {
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
			w.(http.Flusher).Flush()
		}
		send("message_start", `{"type":"message_start","message":{"usage":{"input_tokens":3,"output_tokens":1}}}`)
		for i := range events {
			time.Sleep(spacing)
			send("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","sent":%d,"index":%d}`, time.Now().UnixNano(), i))
		}
		send("message_stop", `{"type":"message_stop"}`)
	}))
	defer up.Close()
	r := newRig(t, ``, oneEndpoint)
	r.cluster.Endpoint("a").Config.BaseURL.Host = strings.TrimPrefix(up.URL, "http://")

	resp, err := http.DefaultClient.Do(r.request("POST", "/v1/messages", messageBody(true)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var gaps []time.Duration
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || !strings.Contains(data, `"sent"`) {
			continue
		}
		received := time.Now()
		var ev struct{ Sent int64 }
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatal(err)
		}
		gaps = append(gaps, received.Sub(time.Unix(0, ev.Sent)))
	}
	if len(gaps) != events {
		t.Fatalf("received %d events, want %d", len(gaps), events)
	}
	var worst time.Duration
	for _, g := range gaps {
		worst = max(worst, g)
	}
	t.Logf("send-to-receive gaps: %v (worst %v)", gaps, worst)
	// Generous against a noisy machine, yet well under the spacing that
	// buffering would add.
	if worst >= spacing/2 {
		t.Errorf("an event took %v from upstream to client: the proxy is buffering", worst)
	}
}

// TestClientDisconnectCancelsUpstream: a client that leaves cancels the
// upstream request at once, before and after the response started.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	for _, phase := range []string{"before headers", "mid-stream"} {
		t.Run(phase, func(t *testing.T) {
			canceled := make(chan struct{})
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Read the body as a real server would: net/http notices a
				// closed connection only once the body is consumed.
				_, _ = io.Copy(io.Discard, r.Body)
				if phase == "mid-stream" {
					w.Header().Set("Content-Type", "text/event-stream")
					w.WriteHeader(200)
					fmt.Fprint(w, "event: message_start\ndata: {\"type\":\"message_start\"}\n\n")
					w.(http.Flusher).Flush()
				}
				select {
				case <-r.Context().Done():
					close(canceled)
				case <-time.After(30 * time.Second):
				}
			}))
			defer up.Close()
			r := newRig(t, ``, oneEndpoint)
			r.cluster.Endpoint("a").Config.BaseURL.Host = strings.TrimPrefix(up.URL, "http://")

			ctx, cancel := context.WithCancel(context.Background())
			req := r.request("POST", "/v1/messages", messageBody(true)).WithContext(ctx)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					_, _ = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
			}()
			time.Sleep(100 * time.Millisecond)
			cancel()
			select {
			case <-canceled:
			case <-time.After(5 * time.Second):
				t.Fatal("the upstream request was not cancelled after the client left")
			}
			// Leaving is not the endpoint's fault.
			deadline := time.Now().Add(2 * time.Second)
			for r.cluster.Endpoint("a").State.Inflight() != 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if st := r.state("a"); st == endpoint.CoolingDown {
				t.Errorf("endpoint penalised for a client that left: %v", st)
			}
			if n := r.cluster.Endpoint("a").State.Inflight(); n != 0 {
				t.Errorf("in-flight count %d after the request ended", n)
			}
		})
	}
}

// TestCountTokensFallsBackToEstimate: relays often lack count_tokens; a 404
// there gets a local estimate and costs the endpoint nothing.
func TestCountTokensFallsBackToEstimate(t *testing.T) {
	r := newRig(t, ``, oneEndpoint)
	r.ups[0].SetFault(fakeupstream.Fault{Path: "/v1/messages/count_tokens", Status: 404})
	resp, body := r.do(r.request("POST", "/v1/messages/count_tokens", messageBody(false)))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got struct {
		InputTokens int `json:"input_tokens"`
	}
	if err := json.Unmarshal(body, &got); err != nil || got.InputTokens <= 0 {
		t.Fatalf("estimate %q (%v)", body, err)
	}
	if st := r.state("a"); st != endpoint.Available {
		t.Errorf("endpoint is %v after the 404", st)
	}
	// A real count passes through untouched.
	r.ups[0].ClearFault()
	resp, body = r.do(r.request("POST", "/v1/messages/count_tokens", messageBody(false)))
	if resp.StatusCode != 200 || resp.Header.Get("X-Qccd-Estimate") != "" {
		t.Errorf("upstream count: status %d, estimate header %q: %s", resp.StatusCode, resp.Header.Get("X-Qccd-Estimate"), body)
	}
}

// TestClientLeavingMidStreamIsNotAnEndpointFailure pins a bug seen in the
// demo: a client that stopped reading (curl | head) was logged as a broken
// upstream stream and charged to the endpoint.
func TestClientLeavingMidStreamIsNotAnEndpointFailure(t *testing.T) {
	r := newRig(t, `failure_threshold = 1`, oneEndpoint, fakeupstream.Options{Events: 20, EventDelay: 50 * time.Millisecond})
	resp, err := http.DefaultClient.Do(r.request("POST", "/v1/messages", messageBody(true)))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // leave mid-stream

	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		n := len(r.records)
		r.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.records) != 1 {
		t.Fatalf("%d records", len(r.records))
	}
	rec := r.records[0]
	if !rec.ClientGone || rec.StreamError != "" {
		t.Errorf("record: client_gone=%v stream_error=%q, want the client's departure and no stream error", rec.ClientGone, rec.StreamError)
	}
	if st := r.cluster.Endpoint("a").State.Status(); st == endpoint.CoolingDown {
		t.Errorf("endpoint cooled down because a client left")
	}
}

// TestCompressedStreamPassesThroughUnbuffered pins a flaw found in review:
// a relay that gzips its SSE (Claude Code sends Accept-Encoding: gzip) has
// no blank lines to frame on, and the stream sat in the proxy until its
// framing buffer filled. It must pass through as it comes.
func TestCompressedStreamPassesThroughUnbuffered(t *testing.T) {
	first := make(chan struct{})
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(200)
		_, _ = w.Write([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xffpartial-gzip-member"))
		w.(http.Flusher).Flush()
		close(first)
		<-release
	}))
	defer up.Close()
	defer close(release)
	r := newRig(t, ``, oneEndpoint)
	r.cluster.Endpoint("a").Config.BaseURL.Host = strings.TrimPrefix(up.URL, "http://")

	req := r.request("POST", "/v1/messages", messageBody(true))
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-first
	got := make(chan int, 1)
	go func() {
		buf := make([]byte, 64)
		n, _ := io.ReadFull(resp.Body, buf[:10])
		got <- n
	}()
	select {
	case n := <-got:
		if n != 10 {
			t.Fatalf("read %d bytes", n)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("compressed stream bytes were held back by the proxy")
	}
}
