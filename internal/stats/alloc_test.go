package stats_test

import (
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/proxy"
	"github.com/qcc-dev/qcc/internal/sse"
	"github.com/qcc-dev/qcc/internal/stats"
)

// TestCountingDoesNotAllocate pins the collector's steady state: once a
// series and its slots exist, counting an event allocates nothing, so a
// busy qccd makes no garbage for the stats.
func TestCountingDoesNotAllocate(t *testing.T) {
	var seen int
	c := stats.New(stats.Options{Observe: func(stats.Event) { seen++ }})
	ev := stats.Event{Cluster: "prod", Endpoint: "b", Status: 200, Attempts: 2, TTFB: time.Second, Duration: 2 * time.Second,
		Usage: sse.Usage{Input: 10, Output: 5}, Failed: []proxy.FailedAttempt{{Endpoint: "a", Status: 529}}}
	c.Submit(ev)
	c.Flush()
	if n := testing.AllocsPerRun(1000, func() { c.Submit(ev); c.Flush() }); n != 0 {
		t.Errorf("counting an event allocates %v times", n)
	}
	if seen == 0 {
		t.Error("Observe never ran")
	}
}
