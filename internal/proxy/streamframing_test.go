package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/proxy"
	"github.com/qcc-dev/qcc/internal/testutil"
)

// TestGarbageStreamWithContentLengthEndsInErrorEvent pins a failure the
// chaos suite found: a relay that answers a stream with a 200, an
// event-stream content type, a Content-Length and a body of junk. qccd
// copied the Content-Length, dropped the junk (it is no complete event) and
// then could not write its error event past the declared length: the
// client got a 200 with an empty, truncated body, and qccd recorded that
// the client had gone.
func TestGarbageStreamWithContentLengthEndsInErrorEvent(t *testing.T) {
	r := newRig(t, ``, oneEndpoint)
	r.ups[0].SetFault(fakeupstream.Fault{Garbage: true})
	resp, body := r.do(r.request("POST", "/v1/messages", messageBody(true)))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if cl := resp.Header.Get("Content-Length"); cl != "" {
		t.Errorf("a reframed stream kept the upstream's Content-Length %s", cl)
	}
	evs := parseSSE(t, body)
	if len(evs) != 1 || evs[0].name != "error" || !strings.Contains(evs[0].data, `"api_error"`) {
		t.Fatalf("client got %v, want one api_error event", evs)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.records[len(r.records)-1]
	if rec.StreamError == "" || rec.ClientGone {
		t.Errorf("record: stream error %q, client gone %t; want a stream error and the client still there", rec.StreamError, rec.ClientGone)
	}
}

// TestSlowFirstEventStillGetsHeadersOut: a stream's headers wait for its
// first event so that both leave in one write, but not for long: an
// upstream that holds its first event back must not hold back the status.
// The upstream here sends its first event only once the client has seen
// the headers, so the test fails (after 10 s) if they never come alone.
func TestSlowFirstEventStillGetsHeadersOut(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
			return // the client never saw the headers: it fails below
		}
		fmt.Fprint(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n")
		fmt.Fprint(w, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	}))
	defer up.Close()
	px := httptest.NewServer(proxyFor(t, up.URL))
	defer px.Close()

	req, _ := http.NewRequest("POST", px.URL+"/v1/messages", strings.NewReader(messageBody(true)))
	resp, err := http.DefaultClient.Do(req) // returns with the headers
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	close(release)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	if evs := parseSSE(t, body); len(evs) != 2 || evs[1].name != "message_stop" {
		t.Errorf("client got %v, want message_start and message_stop", evs)
	}
}

// proxyFor returns a proxy handler with one endpoint at upstream.
func proxyFor(t *testing.T, upstream string) http.Handler {
	t.Helper()
	snap := testutil.Snapshot(t, fmt.Sprintf("[clusters.test]\nlisten = \"127.0.0.1:0\"\n[[clusters.test.endpoints]]\nname = \"a\"\nbase_url = %q\napi_key = \"sk-ant-test\"\n", upstream))
	return proxy.New(proxy.Options{Cluster: "test", Snapshot: func() *cluster.Snapshot { return snap }, Log: zerolog.Nop()})
}
