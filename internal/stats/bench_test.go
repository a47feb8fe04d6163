package stats_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/metrics"
	"github.com/qcc-dev/qcc/internal/proxy"
	"github.com/qcc-dev/qcc/internal/stats"
	"github.com/qcc-dev/qcc/internal/testutil"
)

// BenchmarkRequestPath measures what the stats cost a request: the same
// non-streaming request through the proxy with no collector, and with the
// collector and the Prometheus metrics it feeds running as in qccd. The
// two lines should differ by noise only; the request's share is one
// channel send, the counting happens on the collector's goroutine.
//
//	go test -run XXX -bench RequestPath -benchmem -count 10 ./internal/stats | benchstat -col /collector -
func BenchmarkRequestPath(b *testing.B) {
	up := httptest.NewServer(fakeupstream.New(fakeupstream.Options{Events: 4, MaxRecorded: -1}))
	defer up.Close()
	snap := testutil.Snapshot(b, fmt.Sprintf(`
[clusters.bench]
listen = "127.0.0.1:0"
[[clusters.bench.endpoints]]
name = "a"
base_url = %q
api_key = "sk-ant-bench"
[[clusters.bench.endpoints]]
name = "b"
base_url = %q
api_key = "sk-ant-bench-2"
`, up.URL, up.URL))
	snapshot := func() *cluster.Snapshot { return snap }

	m := metrics.New(metrics.Options{Snapshot: snapshot})
	c := stats.New(stats.Options{Snapshot: snapshot, Observe: m.Observe})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"` + strings.Repeat("x", 900) + `"}]}`)
	hdr := http.Header{"Content-Type": {"application/json"}, "Anthropic-Version": {"2023-06-01"}, "X-Api-Key": {"client"}}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}}

	for _, tc := range []struct {
		name     string
		onRecord func(*proxy.Record)
	}{
		{"collector=off", nil},
		{"collector=on", c.OnRecord},
	} {
		// Behind the listeners' server, as in qccd.
		px := testutil.Serve(b, proxy.New(proxy.Options{Cluster: "bench", Snapshot: snapshot, Log: zerolog.Nop(), OnRecord: tc.onRecord}))
		b.Run(tc.name, func(b *testing.B) { testutil.BenchPOST(b, client, px.URL+"/v1/messages", hdr, body) })
		px.Close()
	}
	if c.Dropped() != 0 {
		b.Errorf("the collector dropped %d events", c.Dropped())
	}
}

// BenchmarkOnRecord is the request path's whole share of the stats: one
// non-blocking send to a running collector, which counts the events and
// feeds the metrics meanwhile.
func BenchmarkOnRecord(b *testing.B) {
	m := metrics.New(metrics.Options{Snapshot: func() *cluster.Snapshot { return nil }})
	c := stats.New(stats.Options{Observe: m.Observe})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	rec := &proxy.Record{Cluster: "bench", Endpoint: "a", Status: 200, Attempts: 1, TTFB: time.Second, Duration: 2 * time.Second}
	b.ReportAllocs()
	for b.Loop() {
		c.OnRecord(rec)
	}
}
