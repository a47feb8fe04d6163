package stats_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/proxy"
	"github.com/qcc-dev/qcc/internal/sse"
	"github.com/qcc-dev/qcc/internal/stats"
)

// TestStatsMatchUpstreams sends requests through the real proxy, streaming
// and not, some of them failing over and one breaking off mid-stream, and
// checks the collector's totals against what the fake upstreams counted:
// attempts per endpoint, failovers, stream errors and every kind of token.
func TestStatsMatchUpstreams(t *testing.T) {
	opts := fakeupstream.Options{Events: 5, InputTokens: 120, CacheReadTokens: 900, CacheCreationTokens: 40}
	upA, upB := fakeupstream.New(opts), fakeupstream.New(opts)
	srvA, srvB := httptest.NewServer(upA), httptest.NewServer(upB)
	defer srvA.Close()
	defer srvB.Close()
	snap := snapshot(t, nil, "test: a="+srvA.URL+" b="+srvB.URL)

	c := stats.New(stats.Options{Snapshot: func() *cluster.Snapshot { return snap }})
	defer run(t, c)()
	px := httptest.NewServer(proxy.New(proxy.Options{
		Cluster:  "test",
		Snapshot: func() *cluster.Snapshot { return snap },
		Log:      zerolog.Nop(),
		OnRecord: c.OnRecord,
	}))
	defer px.Close()

	// a fails a few requests before the first byte (500, a reset, 529) and
	// each endpoint breaks one response off after it; b never fails before
	// the first byte, so every request is served in the end.
	upA.PushFaults(
		fakeupstream.Fault{Status: 500},
		fakeupstream.Fault{ResetBeforeHeaders: true},
		fakeupstream.Fault{},
		fakeupstream.Fault{ResetAfterEvents: 3},
		fakeupstream.Fault{Status: 529},
	)
	upB.PushFaults(fakeupstream.Fault{}, fakeupstream.Fault{}, fakeupstream.Fault{ResetAfterEvents: 3})

	const n = 40
	broken := 0 // responses the client saw break off
	for i := range n {
		stream := i%2 == 0
		body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":64,"stream":%t,"messages":[{"role":"user","content":"request %d"}]}`, stream, i)
		req, _ := http.NewRequest("POST", px.URL+"/v1/messages", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Anthropic-Version", "2023-06-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			broken++ // a non-streaming body cut off: qccd aborts the connection
			continue
		case resp.StatusCode != 200:
			t.Fatalf("request %d: status %d: %s", i, resp.StatusCode, got)
		case strings.Contains(string(got), "event: error"):
			broken++
		}
	}
	waitFor(t, "every request to be counted", func() bool { return c.Report(0).Total.Requests == n })

	rep := c.Report(0)
	a, b := upA.Stats(), upB.Stats()
	total := rep.Total
	if total.Attempts != int64(a.Requests+b.Requests) {
		t.Errorf("%d attempts counted, the upstreams saw %d requests", total.Attempts, a.Requests+b.Requests)
	}
	if got, want := total.Failovers, int64(a.Requests+b.Requests-n); got != want || got == 0 {
		t.Errorf("%d failovers counted, want %d (and some)", got, want)
	}
	for name, st := range map[string]fakeupstream.Stats{"a": a, "b": b} {
		if got := find(t, rep, "test", name).Attempts; got != int64(st.Requests) {
			t.Errorf("endpoint %s: %d attempts counted, it saw %d requests", name, got, st.Requests)
		}
	}
	wantTokens := a.Tokens.Add(b.Tokens)
	gotTokens := sse.Usage{Input: total.Tokens.Input, Output: total.Tokens.Output, CacheRead: total.Tokens.CacheRead, CacheCreation: total.Tokens.CacheCreation}
	if gotTokens != wantTokens || wantTokens.CacheRead == 0 {
		t.Errorf("tokens counted %+v, the upstreams served %+v", gotTokens, wantTokens)
	}
	if total.StreamErrors != int64(broken) || broken != 2 {
		t.Errorf("%d stream errors counted, clients saw %d break off; want 2", total.StreamErrors, broken)
	}
	if total.ByCode["200"] != n {
		t.Errorf("by code %v, want all %d as 200", total.ByCode, n)
	}
	if total.TTFB.P50 == 0 || total.Duration.P99 == 0 {
		t.Errorf("no latency recorded: %+v %+v", total.TTFB, total.Duration)
	}
}
