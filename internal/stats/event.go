package stats

import (
	"time"

	"github.com/qcc-dev/qcc/internal/proxy"
	"github.com/qcc-dev/qcc/internal/sse"
)

// Event is one finished request as the collector takes it in: the part of
// the proxy's Record that the numbers need. It shares the Record's strings
// and its Failed slice, so making one allocates nothing.
type Event struct {
	Cluster string
	// Endpoint is the last endpoint tried, the one whose answer (or whose
	// failure) the client got; empty when no endpoint could be tried.
	Endpoint string
	// Failed are the attempts that failed before the first byte, in order.
	// When Attempts exceeds len(Failed), the last attempt, on Endpoint, is
	// the one that answered.
	Failed   []proxy.FailedAttempt
	Status   int // what the client got; 499 when it left before an answer
	Attempts int
	TTFB     time.Duration // 0 when no response byte was relayed
	Duration time.Duration
	Usage    sse.Usage

	Stream      bool
	StreamError bool // the response broke off after its first byte
	ClientGone  bool
}

// EventOf extracts the event of a finished request.
func EventOf(rec *proxy.Record) Event {
	return Event{
		Cluster:     rec.Cluster,
		Endpoint:    rec.Endpoint,
		Failed:      rec.Failed,
		Status:      rec.Status,
		Attempts:    rec.Attempts,
		TTFB:        rec.TTFB,
		Duration:    rec.Duration,
		Usage:       rec.Usage,
		Stream:      rec.Stream,
		StreamError: rec.StreamError != "",
		ClientGone:  rec.ClientGone,
	}
}

// Answered reports whether the last attempt, on Endpoint, got past the
// first byte (or ended because the client left) rather than failing.
func (ev *Event) Answered() bool { return ev.Endpoint != "" && ev.Attempts > len(ev.Failed) }

// FailedOver reports whether the i-th failed attempt was followed by
// another attempt, on another endpoint.
func (ev *Event) FailedOver(i int) bool { return i+1 < ev.Attempts }
