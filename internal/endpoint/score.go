package endpoint

import "time"

// An endpoint's effective weight is its configured weight times a factor,
// kept in thousandths so that balancers do integer arithmetic on it and a
// pick reads one atomic.
const (
	fullFactor = 1000
	// minFactor is the floor of the factor: a poor endpoint still gets a
	// tenth of its share, enough for its numbers to show when it improves.
	minFactor = 100
)

// The success rate is taken over a sliding window of windowBuckets buckets
// of bucketSpan each.
const (
	windowBuckets = 6
	bucketSpan    = 10 * time.Second
)

// priorSuccesses are virtual successes added to the window, so that one
// failure of an endpoint that has seen little traffic does not halve its
// weight: a single failure out of one request scores 5/6, not 0.
const priorSuccesses = 5

// window counts outcomes in time buckets. It belongs to a State and is
// guarded by the State's mutex.
type window struct {
	epoch    [windowBuckets]int64 // bucket number each slot counts for
	ok, fail [windowBuckets]uint32
}

func bucketOf(now time.Time) int64 { return now.UnixNano() / int64(bucketSpan) }

func (w *window) add(now time.Time, success bool) {
	e := bucketOf(now)
	i := int(uint64(e) % windowBuckets)
	if w.epoch[i] != e {
		w.epoch[i], w.ok[i], w.fail[i] = e, 0, 0
	}
	if success {
		w.ok[i]++
	} else {
		w.fail[i]++
	}
}

// sums returns the outcomes of the window that ends now.
func (w *window) sums(now time.Time) (ok, fail int) {
	e := bucketOf(now)
	for i := range windowBuckets {
		if age := e - w.epoch[i]; age >= 0 && age < windowBuckets {
			ok += int(w.ok[i])
			fail += int(w.fail[i])
		}
	}
	return ok, fail
}

// Rescore recomputes the weight factor of each of a cluster's endpoints:
//
//	factor = success rate × TTFB factor × slow-start ramp, clamped to [0.1, 1]
//
// The success rate is taken over the last minute, with a prior of a few
// successes; the TTFB factor is the best TTFB moving average among the
// endpoints taking traffic divided by this one's; the ramp grows linearly
// from 0 to 1 over the policy's SlowStart after a recovery.
//
// The health scheduler calls it about once a second per cluster, so that a
// balancer's pick costs one atomic load per candidate rather than this.
func Rescore(now time.Time, eps []*Endpoint) {
	var best time.Duration
	for _, ep := range eps {
		switch ep.State.Status() {
		case Unknown, Available:
			if d := ep.State.TTFB(); d > 0 && (best == 0 || d < best) {
				best = d
			}
		}
	}
	for _, ep := range eps {
		ep.State.rescore(now, ep.Policy, best)
	}
}

func (s *State) rescore(now time.Time, p Policy, best time.Duration) {
	ttfb := s.TTFB()
	s.mu.Lock()
	defer s.mu.Unlock()
	ok, fail := s.window.sums(now)
	score := float64(ok+priorSuccesses) / float64(ok+fail+priorSuccesses)
	if best > 0 && ttfb > best {
		score *= float64(best) / float64(ttfb)
	}
	if !s.recoveredAt.IsZero() {
		if since := now.Sub(s.recoveredAt); since >= 0 && since < p.SlowStart {
			score *= float64(since) / float64(p.SlowStart)
		} else {
			s.recoveredAt = time.Time{}
		}
	}
	// Stored under the lock, so that a recovery that restarts the ramp
	// meanwhile is not overwritten with a factor computed before it.
	s.factor.Store(uint32(min(max(score*fullFactor, minFactor), fullFactor)))
}

// Factor returns the share of its configured weight the endpoint gets now,
// between 0.1 and 1.
func (s *State) Factor() float64 { return float64(s.factor.Load()) / fullFactor }

// SuccessRate returns the share of successful requests and checks over the
// last minute, and how many there were; 1 and 0 when there were none.
func (s *State) SuccessRate(now time.Time) (rate float64, n int) {
	s.mu.Lock()
	ok, fail := s.window.sums(now)
	s.mu.Unlock()
	if ok+fail == 0 {
		return 1, 0
	}
	return float64(ok) / float64(ok+fail), ok + fail
}
