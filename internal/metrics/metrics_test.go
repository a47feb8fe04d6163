package metrics_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/proxy"
	"github.com/qcc-dev/qcc/internal/sse"
	"github.com/qcc-dev/qcc/internal/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// events is a small day of traffic: successes, a failover, a request no
// endpoint could take, a broken stream, a client that left.
func events() []stats.Event {
	return []stats.Event{
		{Cluster: "prod", Endpoint: "a", Status: 200, Attempts: 1, TTFB: 400 * time.Millisecond, Duration: 45 * time.Second,
			Usage: sse.Usage{Input: 1200, Output: 300, CacheRead: 50000, CacheCreation: 2000}, Stream: true},
		{Cluster: "prod", Endpoint: "b", Status: 200, Attempts: 2, TTFB: 2 * time.Second, Duration: 3 * time.Second,
			Usage: sse.Usage{Input: 10, Output: 5}, Failed: []proxy.FailedAttempt{{Endpoint: "a", Status: 529}}},
		{Cluster: "prod", Endpoint: "a", Status: 503, Attempts: 2, Duration: 20 * time.Millisecond,
			Failed: []proxy.FailedAttempt{{Endpoint: "b", Status: 0}, {Endpoint: "a", Status: 500}}},
		{Cluster: "prod", Status: 503, Duration: time.Millisecond},
		{Cluster: "prod", Endpoint: "a", Status: 200, Attempts: 1, TTFB: 300 * time.Millisecond, Duration: 599 * time.Second,
			Usage: sse.Usage{Input: 100, Output: 1}, Stream: true, StreamError: true},
		{Cluster: "prod", Endpoint: "a", Status: 499, Attempts: 1, Duration: 2 * time.Second, ClientGone: true},
		{Cluster: "dev", Endpoint: "x", Status: 400, Attempts: 1, TTFB: 30 * time.Millisecond, Duration: 30 * time.Millisecond},
	}
}

func TestExposition(t *testing.T) {
	f := newFixture(t, "prod: a b", "dev: x")
	for _, ev := range events() {
		f.m.Observe(ev)
	}
	f.m.ObserveHealthCheck("prod", "a", "ok")
	f.m.ObserveHealthCheck("prod", "b", "failure")
	snap := f.snap.Load()
	snap.Cluster("prod").Endpoint("b").State.SetDisabled(true, "operator")
	snap.Cluster("prod").Endpoint("a").State.Begin()
	defer snap.Cluster("prod").Endpoint("a").State.End()

	got := qccdLines(scrape(t, f.m.Handler()))
	golden := filepath.Join("testdata", "metrics.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("/metrics differs from %s (go test -update to accept):\n%s", golden, diff(string(want), got))
	}
	if strings.Contains(got, testKey[:20]) || strings.Contains(got, testKey[20:]) {
		t.Error("an endpoint key appears in /metrics")
	}
}

// diff lists the lines only one side has; enough to see what changed.
func diff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for l := range strings.Lines(s) {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for l := range strings.Lines(want) {
		if !g[l] {
			b.WriteString("- " + l)
		}
	}
	for l := range strings.Lines(got) {
		if !w[l] {
			b.WriteString("+ " + l)
		}
	}
	return b.String()
}

// TestReloadDeletesRemovedSeries: once a reload drops an endpoint, none of
// its series is scraped again, not even when a request that started before
// the reload finishes afterwards.
func TestReloadDeletesRemovedSeries(t *testing.T) {
	f := newFixture(t, "prod: a b", "dev: x")
	for _, ev := range events() {
		f.m.Observe(ev)
	}
	f.m.ObserveHealthCheck("prod", "b", "ok")
	before := scrape(t, f.m.Handler())
	for _, want := range []string{`endpoint="b"`, `cluster="dev"`} {
		if !strings.Contains(before, want) {
			t.Fatalf("no %s series before the reload", want)
		}
	}

	f.reload(t, "prod: a")
	late := stats.Event{Cluster: "prod", Endpoint: "b", Status: 200, Attempts: 2, TTFB: time.Second, Duration: time.Second,
		Usage: sse.Usage{Input: 1}, Failed: []proxy.FailedAttempt{{Endpoint: "a", Status: 529}}}
	f.m.Observe(late)
	f.m.ObserveHealthCheck("prod", "b", "ok")
	lateDev := stats.Event{Cluster: "dev", Endpoint: "x", Status: 200, Attempts: 2, Duration: time.Second}
	f.m.Observe(lateDev)

	after := qccdLines(scrape(t, f.m.Handler()))
	for _, gone := range []string{`endpoint="b"`, `cluster="dev"`} {
		if strings.Contains(after, gone) {
			t.Errorf("series with %s still scraped after the reload removed it:\n%s", gone, grep(after, gone))
		}
	}
	if !strings.Contains(after, `qccd_tokens_total{cluster="prod",endpoint="a",kind="input"} 1300`) {
		t.Errorf("endpoint a's series were lost or changed by the reload:\n%s", grep(after, `endpoint="a"`))
	}
	// The failover away from a still counts: a is configured.
	if !strings.Contains(after, `qccd_attempts_total{cluster="prod",code="529",endpoint="a"} 2`) {
		t.Errorf("the late request's failed attempt on a was not counted:\n%s", grep(after, "qccd_attempts_total"))
	}

	// Put b back: it starts from zero, as a new endpoint should.
	f.reload(t, "prod: a b")
	f.m.Observe(late)
	again := scrape(t, f.m.Handler())
	if !strings.Contains(again, `qccd_tokens_total{cluster="prod",endpoint="b",kind="input"} 1`+"\n") {
		t.Errorf("b's series did not restart from zero:\n%s", grep(again, `endpoint="b"`))
	}
}

func grep(text, s string) string {
	var b strings.Builder
	for l := range strings.Lines(text) {
		if strings.Contains(l, s) {
			b.WriteString(l)
		}
	}
	return b.String()
}

// TestPromtoolAcceptsMetrics runs `promtool check metrics` (Debian's
// prometheus package) on a real scrape, Go runtime metrics included.
func TestPromtoolAcceptsMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus): skipping the exposition lint")
	}
	f := newFixture(t, "prod: a b", "dev: x")
	for _, ev := range events() {
		f.m.Observe(ev)
	}
	f.m.ObserveHealthCheck("prod", "a", "ok")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrape(t, f.m.Handler()))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out.String())
	}
	t.Logf("promtool check metrics: ok %s", out.String())
}

// TestObserveDoesNotAllocate: once its series exist, counting a request
// in the metrics makes no garbage.
func TestObserveDoesNotAllocate(t *testing.T) {
	f := newFixture(t, "prod: a b")
	ev := stats.Event{Cluster: "prod", Endpoint: "b", Status: 200, Attempts: 2, TTFB: time.Second, Duration: time.Second,
		Usage: sse.Usage{Input: 1, Output: 2, CacheRead: 3, CacheCreation: 4}, Failed: []proxy.FailedAttempt{{Endpoint: "a", Status: 529}}}
	f.m.Observe(ev)
	if n := testing.AllocsPerRun(1000, func() { f.m.Observe(ev) }); n != 0 {
		t.Errorf("Observe allocates %v times per event", n)
	}
}
