package proxy_test

import (
	"strings"
	"testing"

	"github.com/qcc-dev/qcc/internal/fakeupstream"
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
