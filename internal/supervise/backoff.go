package supervise

import (
	"math/rand/v2"
	"time"
)

// nextBackoff returns the delay after prev: lo for a first failure (prev 0),
// otherwise twice prev, capped at hi.
func nextBackoff(prev, lo, hi time.Duration) time.Duration {
	if prev <= 0 {
		return lo
	}
	if prev > hi/2 {
		return hi
	}
	return prev * 2
}

// jitter spreads d uniformly over ±20%, so that components which failed
// together (an upstream outage, a full disk) do not retry in lockstep.
func jitter(d time.Duration) time.Duration {
	return scale(d, rand.Float64())
}

// scale maps r in [0, 1) to a point in [0.8d, 1.2d).
func scale(d time.Duration, r float64) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*r))
}
