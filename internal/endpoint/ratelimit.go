package endpoint

import (
	"net/http"
	"strconv"
	"time"
)

// rateLimits are the anthropic-ratelimit-* header triples, in the
// canonical form net/http stores them in, so that reading them is a map
// lookup without allocation.
var rateLimits = [...]struct{ limit, remaining, reset string }{
	{"Anthropic-Ratelimit-Requests-Limit", "Anthropic-Ratelimit-Requests-Remaining", "Anthropic-Ratelimit-Requests-Reset"},
	{"Anthropic-Ratelimit-Tokens-Limit", "Anthropic-Ratelimit-Tokens-Remaining", "Anthropic-Ratelimit-Tokens-Reset"},
	{"Anthropic-Ratelimit-Input-Tokens-Limit", "Anthropic-Ratelimit-Input-Tokens-Remaining", "Anthropic-Ratelimit-Input-Tokens-Reset"},
	{"Anthropic-Ratelimit-Output-Tokens-Limit", "Anthropic-Ratelimit-Output-Tokens-Remaining", "Anthropic-Ratelimit-Output-Tokens-Reset"},
}

// lowWithoutReset is how long a limit below the floor steers traffic away
// when the upstream did not say when it resets: the API's limits are per
// minute.
const lowWithoutReset = time.Minute

// maxRetryAfter bounds what Retry-After can ask for.
const maxRetryAfter = 24 * time.Hour

// RateLimit is what one upstream response said about the endpoint's rate
// limits.
type RateLimit struct {
	// Seen: the response carried at least one remaining count. A response
	// without any leaves what earlier ones said alone.
	Seen bool
	// Low is when the last limit that is below the floor resets; zero when
	// none is.
	Low time.Time
	// RetryAfter is the Retry-After header's delay; 0 when absent.
	RetryAfter time.Duration
}

// ReadRateLimit reads Retry-After and the anthropic-ratelimit-* headers of
// an upstream response. A limit is low when its remaining count is below
// floor times its limit. Without these headers it costs a few map lookups
// and allocates nothing.
func ReadRateLimit(h http.Header, floor float64, now time.Time) RateLimit {
	rl := RateLimit{RetryAfter: retryAfter(h, now)}
	for _, k := range rateLimits {
		remaining, ok := headerInt(h, k.remaining)
		if !ok {
			continue
		}
		rl.Seen = true
		limit, ok := headerInt(h, k.limit)
		if !ok || limit <= 0 || float64(remaining) >= floor*float64(limit) {
			continue
		}
		reset := now.Add(lowWithoutReset)
		if v := h[k.reset]; len(v) > 0 {
			if t, err := time.Parse(time.RFC3339, v[0]); err == nil {
				reset = t
			}
		}
		if reset.After(rl.Low) {
			rl.Low = reset
		}
	}
	if !rl.Low.After(now) {
		rl.Low = time.Time{} // already reset
	}
	return rl
}

// Cooldown is how long a response with status should keep the endpoint
// out: for a 429, until its exhausted limit resets or Retry-After,
// whichever is later; for anything else Retry-After. 0 means the upstream
// did not say, and the back-off decides.
func (rl RateLimit) Cooldown(now time.Time, status int) time.Duration {
	d := rl.RetryAfter
	if status == http.StatusTooManyRequests && !rl.Low.IsZero() {
		d = max(d, rl.Low.Sub(now))
	}
	return d
}

// ObserveRateLimit steers new requests away from the endpoint until rl.Low
// when a limit is below the floor, and ends the steering when a response
// shows every limit above it. A response without rate-limit headers changes
// nothing. Steering is a preference, not a failure: see Steered.
func (s *State) ObserveRateLimit(rl RateLimit) {
	if !rl.Seen {
		return
	}
	var until int64
	if !rl.Low.IsZero() {
		until = rl.Low.UnixNano()
	}
	if s.steerUntil.Load() != until {
		s.steerUntil.Store(until)
	}
}

// Steered reports whether a rate limit of the endpoint is below the floor
// now. Balancers send new requests elsewhere while it is, and to it only
// when every other choice is steered too.
func (s *State) Steered(now time.Time) bool { return now.UnixNano() < s.steerUntil.Load() }

// SteeredUntil returns when the low rate limit resets; zero when none is low.
func (s *State) SteeredUntil() time.Time {
	if n := s.steerUntil.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// headerInt reads a header holding a non-negative integer.
func headerInt(h http.Header, key string) (int64, bool) {
	v := h[key]
	if len(v) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	return n, err == nil && n >= 0
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h["Retry-After"]
	if len(v) == 0 || v[0] == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v[0], 64); err == nil {
		if secs <= 0 {
			return 0
		}
		// Bounded, so that an absurd value cannot overflow into the past.
		return time.Duration(min(secs, maxRetryAfter.Seconds()) * float64(time.Second))
	}
	if t, err := http.ParseTime(v[0]); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
