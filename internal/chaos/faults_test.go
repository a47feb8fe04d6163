package chaos

import (
	"math/rand/v2"
	"time"

	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

// The kinds of fault, as kind names them.
const (
	kindNone         = "none"
	kindStatus5xx    = "5xx"
	kindOverloaded   = "529"
	kindRateLimited  = "429"
	kindResetEarly   = "reset-before-headers"
	kindResetMid     = "reset-mid-body"
	kindErrorEvent   = "error-event-mid-stream"
	kindSlow         = "slow-events"
	kindGarbage      = "garbage-200"
	slowEventDelay   = 15 * time.Millisecond
	fakeStreamEvents = 11 // fakeupstream with Events: 6 sends 11 events
)

// randomFaults returns n faults, each one a random fault with probability p
// and no fault otherwise.
func randomFaults(rng *rand.Rand, n int, p float64) []fakeupstream.Fault {
	out := make([]fakeupstream.Fault, n)
	for i := range out {
		if rng.Float64() >= p {
			continue
		}
		var f fakeupstream.Fault
		switch rng.IntN(8) {
		case 0:
			f.Status = []int{500, 502, 503}[rng.IntN(3)]
		case 1:
			f.Status = 529
		case 2:
			// Fractional, so that a run of seconds sees the endpoint
			// come back; qccd reads it as the API's integer seconds.
			f.Status, f.RetryAfter = 429, "0.05"
		case 3:
			f.ResetBeforeHeaders = true
		case 4:
			// After message_start at least, so that the client has been
			// told some usage: the reconciliation counts it.
			f.ResetAfterEvents = 1 + rng.IntN(fakeStreamEvents-2)
		case 5:
			f.ErrorAfterEvents = 2 + rng.IntN(fakeStreamEvents-3)
		case 6:
			f.EventDelay = slowEventDelay
		case 7:
			f.Garbage = true
		}
		out[i] = f
	}
	return out
}

// kind names f's kind.
func kind(f fakeupstream.Fault) string {
	switch {
	case f.Status == 529:
		return kindOverloaded
	case f.Status == 429:
		return kindRateLimited
	case f.Status >= 500:
		return kindStatus5xx
	case f.ResetBeforeHeaders:
		return kindResetEarly
	case f.ResetAfterEvents > 0:
		return kindResetMid
	case f.ErrorAfterEvents > 0:
		return kindErrorEvent
	case f.EventDelay > 0:
		return kindSlow
	case f.Garbage:
		return kindGarbage
	}
	return kindNone
}
