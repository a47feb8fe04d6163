package endpoint

import (
	"math"
	"time"
)

// ttfbAlpha weights a new time-to-first-byte sample in the moving average:
// high enough that a slowed-down upstream shows within a few requests, low
// enough that one slow reply does not swing traffic.
const ttfbAlpha = 0.3

// Begin counts a request in flight; End must follow.
func (s *State) Begin() { s.inflight.Add(1) }

// End counts a request as finished.
func (s *State) End() { s.inflight.Add(-1) }

// Inflight returns the requests in flight now.
func (s *State) Inflight() int64 { return s.inflight.Load() }

// ObserveTTFB folds one time-to-first-byte sample into the moving average.
func (s *State) ObserveTTFB(d time.Duration) {
	sample := float64(d)
	for {
		old := s.ttfb.Load()
		next := sample
		if old != 0 {
			prev := math.Float64frombits(old)
			next = prev + ttfbAlpha*(sample-prev)
		}
		if next <= 0 {
			next = 1 // keep 0 meaning "no sample"
		}
		if s.ttfb.CompareAndSwap(old, math.Float64bits(next)) {
			return
		}
	}
}

// TTFB returns the moving average of time to first byte; 0 before any sample.
func (s *State) TTFB() time.Duration {
	return time.Duration(math.Float64frombits(s.ttfb.Load()))
}
