package stats_test

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/proxy"
	"github.com/qcc-dev/qcc/internal/sse"
	"github.com/qcc-dev/qcc/internal/stats"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// find returns the named cluster's stats and, when endpoint is not empty,
// that endpoint's, failing the test when either is missing.
func find(t *testing.T, rep adminapi.StatsReport, clusterName, endpoint string) adminapi.StatsSummary {
	t.Helper()
	for _, c := range rep.Clusters {
		if c.Cluster != clusterName {
			continue
		}
		if endpoint == "" {
			return c.Summary
		}
		for _, e := range c.Endpoints {
			if e.Endpoint == endpoint {
				return e.Summary
			}
		}
	}
	t.Fatalf("no stats for %s/%s in %+v", clusterName, endpoint, rep)
	return adminapi.StatsSummary{}
}

func TestCounting(t *testing.T) {
	usage := sse.Usage{Input: 100, Output: 20, CacheRead: 50, CacheCreation: 5}
	events := []stats.Event{
		// A plain success on a.
		{Cluster: "prod", Endpoint: "a", Status: 200, Attempts: 1, TTFB: 300 * time.Millisecond, Duration: 2 * time.Second, Usage: usage, Stream: true},
		// a answered 529, b served it: one failover.
		{Cluster: "prod", Endpoint: "b", Status: 200, Attempts: 2, TTFB: time.Second, Duration: 3 * time.Second, Usage: usage,
			Failed: []proxy.FailedAttempt{{Endpoint: "a", Status: 529}}},
		// Both failed: the client got qccd's 529, blamed on the last tried.
		{Cluster: "prod", Endpoint: "b", Status: 529, Attempts: 2, Duration: 50 * time.Millisecond,
			Failed: []proxy.FailedAttempt{{Endpoint: "a", Status: 529}, {Endpoint: "b", Status: 0}}},
		// A stream that broke off after its first byte.
		{Cluster: "prod", Endpoint: "a", Status: 200, Attempts: 1, TTFB: 200 * time.Millisecond, Duration: time.Second, Usage: sse.Usage{Input: 100, Output: 1}, Stream: true, StreamError: true},
		// The client left mid-stream, and another before any answer.
		{Cluster: "prod", Endpoint: "a", Status: 200, Attempts: 1, TTFB: 100 * time.Millisecond, Duration: time.Second, ClientGone: true},
		{Cluster: "prod", Endpoint: "b", Status: 499, Attempts: 1, Duration: time.Second, ClientGone: true},
		// No endpoint could be tried.
		{Cluster: "prod", Status: 503, Duration: time.Millisecond},
		// A client error, and another cluster.
		{Cluster: "prod", Endpoint: "a", Status: 400, Attempts: 1, TTFB: 10 * time.Millisecond, Duration: 10 * time.Millisecond},
		{Cluster: "dev", Endpoint: "x", Status: 200, Attempts: 1, TTFB: time.Second, Duration: time.Second, Usage: usage},
	}
	c := stats.New(stats.Options{})
	for _, ev := range events {
		if !c.Submit(ev) {
			t.Fatal("event dropped with room in the queue")
		}
	}
	c.Flush()
	rep := c.Report(0)

	tests := []struct {
		cluster, endpoint string
		want              adminapi.StatsSummary
	}{
		{"prod", "", adminapi.StatsSummary{
			Requests: 8, Attempts: 9, Failovers: 2, StreamErrors: 1,
			ByClass: map[string]int64{"2xx": 3, "4xx": 1, "5xx": 2, "client_gone": 2},
			ByCode:  map[string]int64{"200": 4, "400": 1, "499": 1, "503": 1, "529": 1},
			Tokens:  adminapi.Tokens{Input: 300, Output: 41, CacheRead: 100, CacheCreation: 10},
		}},
		{"prod", "a", adminapi.StatsSummary{
			// Four requests it answered, plus two failed attempts that moved on.
			Requests: 4, Attempts: 6, Failovers: 2, StreamErrors: 1,
			ByClass: map[string]int64{"2xx": 2, "4xx": 1, "client_gone": 1},
			ByCode:  map[string]int64{"200": 3, "400": 1},
			Tokens:  adminapi.Tokens{Input: 200, Output: 21, CacheRead: 50, CacheCreation: 5},
		}},
		{"prod", "b", adminapi.StatsSummary{
			// Its failed attempt was the last one: no failover from b.
			Requests: 3, Attempts: 3, Failovers: 0,
			ByClass: map[string]int64{"2xx": 1, "5xx": 1, "client_gone": 1},
			ByCode:  map[string]int64{"200": 1, "499": 1, "529": 1},
			Tokens:  adminapi.Tokens{Input: 100, Output: 20, CacheRead: 50, CacheCreation: 5},
		}},
		{"dev", "x", adminapi.StatsSummary{
			Requests: 1, Attempts: 1, ByClass: map[string]int64{"2xx": 1}, ByCode: map[string]int64{"200": 1},
			Tokens: adminapi.Tokens{Input: 100, Output: 20, CacheRead: 50, CacheCreation: 5},
		}},
	}
	for _, tc := range tests {
		got := find(t, rep, tc.cluster, tc.endpoint)
		got.TTFB, got.Duration = adminapi.Quantiles{}, adminapi.Quantiles{}
		if !equalSummary(got, tc.want) {
			t.Errorf("%s/%s:\n got  %+v\n want %+v", tc.cluster, tc.endpoint, got, tc.want)
		}
	}
	if rep.Total.Requests != 9 || rep.Total.Attempts != 10 || rep.Total.Tokens.Input != 400 {
		t.Errorf("total %+v, want 9 requests, 10 attempts, 400 input tokens", rep.Total)
	}
	// Quantiles: prod/a's TTFBs are 10, 100, 200 and 300 ms.
	a := find(t, rep, "prod", "a")
	if p50 := time.Duration(a.TTFB.P50); p50 < 84*time.Millisecond || p50 > 119*time.Millisecond {
		t.Errorf("prod/a TTFB p50 = %v, want about 100ms", p50)
	}
	if p99 := time.Duration(a.TTFB.P99); p99 < 252*time.Millisecond || p99 > 357*time.Millisecond {
		t.Errorf("prod/a TTFB p99 = %v, want about 300ms", p99)
	}
}

func equalSummary(a, b adminapi.StatsSummary) bool {
	norm := func(m map[string]int64) map[string]int64 {
		if len(m) == 0 {
			return nil
		}
		return m
	}
	a.ByClass, a.ByCode = norm(a.ByClass), norm(a.ByCode)
	b.ByClass, b.ByCode = norm(b.ByClass), norm(b.ByCode)
	return reflect.DeepEqual(a, b)
}

// TestFullQueueDropsAndNeverBlocks fills the queue of a collector that is
// not running: every further event must be dropped and counted at once. A
// blocking send would hang here, and the test would time out.
func TestFullQueueDropsAndNeverBlocks(t *testing.T) {
	c := stats.New(stats.Options{Queue: 4})
	rec := &proxy.Record{Cluster: "prod", Endpoint: "a", Status: 200, Attempts: 1}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10 {
			c.OnRecord(rec)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("OnRecord blocked on a full queue")
	}
	if got := c.Dropped(); got != 6 {
		t.Errorf("dropped %d, want 6", got)
	}
	c.Flush()
	rep := c.Report(0)
	if rep.Total.Requests != 4 || rep.Dropped != 6 {
		t.Errorf("report: %d requests, %d dropped; want 4 and 6", rep.Total.Requests, rep.Dropped)
	}
}

// TestOnRecordDoesNotAllocate pins the cost on the request path: one
// channel send, no allocation.
func TestOnRecordDoesNotAllocate(t *testing.T) {
	c := stats.New(stats.Options{Queue: 1})
	rec := &proxy.Record{Cluster: "prod", Endpoint: "a", Status: 200, Attempts: 1}
	if n := testing.AllocsPerRun(100, func() { c.OnRecord(rec) }); n != 0 {
		t.Errorf("OnRecord allocates %v times per call", n)
	}
}

func TestWindowsRollOver(t *testing.T) {
	clk := newClock()
	c := stats.New(stats.Options{Now: clk.Now})
	at := func(d time.Duration) {
		clk.Advance(d)
		c.Submit(stats.Event{Cluster: "prod", Endpoint: "a", Status: 200, Attempts: 1, Duration: time.Second})
		c.Flush()
	}
	requests := func(window time.Duration) int64 { return c.Report(window).Total.Requests }

	at(0)                // t=0
	at(30 * time.Second) // t=30s
	at(90 * time.Second) // t=2m
	tests := []struct {
		advance time.Duration
		want    map[time.Duration]int64 // window -> requests
	}{
		{0, map[time.Duration]int64{time.Minute: 1, 5 * time.Minute: 3, time.Hour: 3, 0: 3}},
		// t=2m59s: the 1m window reads six 10 s slots, from 2m00s: it still has t=2m.
		{59 * time.Second, map[time.Duration]int64{time.Minute: 1}},
		// t=3m: the window now starts at 2m10s.
		{time.Second, map[time.Duration]int64{time.Minute: 0, 5 * time.Minute: 3, time.Hour: 3, 0: 3}},
		// t=5m5s: the 5m window starts at 0m10s, past t=0.
		{2*time.Minute + 5*time.Second, map[time.Duration]int64{5 * time.Minute: 2, time.Hour: 3}},
		// t=59m59s: the hour still has everything.
		{54*time.Minute + 54*time.Second, map[time.Duration]int64{5 * time.Minute: 0, time.Hour: 3}},
		// t=60m: the minute slot of t=0 and t=30s fell out.
		{time.Second, map[time.Duration]int64{time.Hour: 1, 0: 3}},
		// t=62m: only the totals remember.
		{2 * time.Minute, map[time.Duration]int64{time.Hour: 0, 2 * time.Hour: 0, 0: 3}},
	}
	for _, tc := range tests {
		clk.Advance(tc.advance)
		for window, want := range tc.want {
			if got := requests(window); got != want {
				t.Errorf("at +%v, window %v: %d requests, want %d", clk.Now().Sub(newClock().now), window, got, want)
			}
		}
	}

	// A slot reused after a lap must not keep its old counts.
	at(3 * time.Hour)
	if got := requests(time.Minute); got != 1 {
		t.Errorf("after a lap, the 1m window has %d requests, want 1", got)
	}
	if got := requests(time.Hour); got != 1 {
		t.Errorf("after a lap, the 1h window has %d requests, want 1", got)
	}
}

func TestReportSinceAndWindow(t *testing.T) {
	clk := newClock()
	start := clk.Now()
	c := stats.New(stats.Options{Now: clk.Now})
	clk.Advance(5*time.Minute + 5*time.Second)
	now := clk.Now()
	tests := []struct {
		window     time.Duration
		wantWindow time.Duration
		wantSince  time.Time
	}{
		{0, 0, start},
		{time.Minute, time.Minute, now.Truncate(10 * time.Second).Add(-50 * time.Second)},
		{5 * time.Minute, 5 * time.Minute, now.Truncate(10 * time.Second).Add(-290 * time.Second)},
		{time.Hour, time.Hour, now.Truncate(time.Minute).Add(-59 * time.Minute)},
		{3 * time.Hour, time.Hour, now.Truncate(time.Minute).Add(-59 * time.Minute)},
	}
	for _, tc := range tests {
		rep := c.Report(tc.window)
		if time.Duration(rep.Window) != tc.wantWindow || !rep.Since.Equal(tc.wantSince) {
			t.Errorf("Report(%v): window %v since %v, want %v since %v", tc.window, time.Duration(rep.Window), rep.Since, tc.wantWindow, tc.wantSince)
		}
	}
}

// TestReportFollowsSnapshot checks the shape of a report: configured
// clusters and endpoints in config order even when idle, with their
// in-flight counts; an endpoint no longer configured only while it has
// numbers in the window.
func TestReportFollowsSnapshot(t *testing.T) {
	snap := snapshot(t, nil, "prod: b=http://127.0.0.1:1 a=http://127.0.0.1:2", "dev: x=http://127.0.0.1:3")
	clk := newClock()
	c := stats.New(stats.Options{Snapshot: func() *cluster.Snapshot { return snap }, Now: clk.Now})
	snap.Cluster("prod").Endpoint("a").State.Begin()
	snap.Cluster("prod").Endpoint("a").State.Begin()
	snap.Cluster("dev").Endpoint("x").State.Begin()
	c.Submit(stats.Event{Cluster: "prod", Endpoint: "gone", Status: 200, Attempts: 1})
	c.Submit(stats.Event{Cluster: "old", Endpoint: "z", Status: 200, Attempts: 1})
	c.Flush()

	type row struct {
		cluster  string
		inflight int64
		eps      []string
	}
	shape := func(rep adminapi.StatsReport) []row {
		var rows []row
		for _, cs := range rep.Clusters {
			r := row{cluster: cs.Cluster, inflight: cs.Summary.Inflight}
			for _, e := range cs.Endpoints {
				r.eps = append(r.eps, fmt.Sprintf("%s:%d", e.Endpoint, e.Summary.Inflight))
			}
			rows = append(rows, r)
		}
		return rows
	}
	want := []row{
		{"prod", 2, []string{"b:0", "a:2", "gone:0"}},
		{"dev", 1, []string{"x:1"}},
		{"old", 0, []string{"z:0"}},
	}
	rep := c.Report(time.Minute)
	if got := shape(rep); !reflect.DeepEqual(got, want) {
		t.Errorf("1m report:\n got  %v\n want %v", got, want)
	}
	if rep.Total.Inflight != 3 || rep.Total.Requests != 2 {
		t.Errorf("total: %d in flight, %d requests; want 3 and 2", rep.Total.Inflight, rep.Total.Requests)
	}
	clk.Advance(10 * time.Minute)
	want = []row{{"prod", 2, []string{"b:0", "a:2"}}, {"dev", 1, []string{"x:1"}}}
	if got := shape(c.Report(time.Minute)); !reflect.DeepEqual(got, want) {
		t.Errorf("1m report 10 minutes on:\n got  %v\n want %v", got, want)
	}
}

func TestRunCountsAndStops(t *testing.T) {
	var observed atomic.Int64
	c := stats.New(stats.Options{Observe: func(stats.Event) { observed.Add(1) }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	for range 100 {
		c.Submit(stats.Event{Cluster: "prod", Endpoint: "a", Status: 200, Attempts: 1})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := c.Report(0).Total.Requests; got != 100 {
		t.Errorf("%d requests counted, want all 100: Run must take in what is queued before it returns", got)
	}
	if got := observed.Load(); got != 100 {
		t.Errorf("Observe saw %d events, want 100", got)
	}
}

// TestReportMissesNoFinishedRequest pins what the collector's linger must
// not cost: while Run waits to count a batch, Report still counts every
// event submitted before it was called.
func TestReportMissesNoFinishedRequest(t *testing.T) {
	c := stats.New(stats.Options{Linger: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	for i := range 50 {
		c.Submit(stats.Event{Cluster: "prod", Endpoint: "a", Status: 200, Attempts: 1})
		if got := c.Report(0).Total.Requests; got != int64(i+1) {
			t.Fatalf("after %d events, Report counts %d", i+1, got)
		}
	}
}
