package endpoint

import (
	"net/http"
	"testing"
	"time"
)

// header builds a response header the way net/http does: canonical keys.
func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestReadRateLimit(t *testing.T) {
	reset := t0.Add(30 * time.Second)
	later := t0.Add(90 * time.Second)
	rfc := func(t time.Time) string { return t.Format(time.RFC3339) }
	tests := []struct {
		name       string
		h          http.Header
		seen       bool
		low        time.Time
		retryAfter time.Duration
	}{
		{"none", header(), false, time.Time{}, 0},
		{"unrelated", header("Content-Type", "application/json"), false, time.Time{}, 0},
		{"plenty left", header(
			"anthropic-ratelimit-requests-limit", "1000",
			"anthropic-ratelimit-requests-remaining", "999",
			"anthropic-ratelimit-requests-reset", rfc(reset)), true, time.Time{}, 0},
		{"exactly at the floor", header(
			"anthropic-ratelimit-requests-limit", "1000",
			"anthropic-ratelimit-requests-remaining", "50"), true, time.Time{}, 0},
		{"below the floor", header(
			"anthropic-ratelimit-requests-limit", "1000",
			"anthropic-ratelimit-requests-remaining", "49",
			"anthropic-ratelimit-requests-reset", rfc(reset)), true, reset, 0},
		{"tokens below the floor", header(
			"anthropic-ratelimit-tokens-limit", "80000",
			"anthropic-ratelimit-tokens-remaining", "0",
			"anthropic-ratelimit-tokens-reset", rfc(reset)), true, reset, 0},
		{"input tokens below the floor", header(
			"anthropic-ratelimit-input-tokens-limit", "80000",
			"anthropic-ratelimit-input-tokens-remaining", "100",
			"anthropic-ratelimit-input-tokens-reset", rfc(reset)), true, reset, 0},
		{"output tokens below the floor", header(
			"anthropic-ratelimit-output-tokens-limit", "16000",
			"anthropic-ratelimit-output-tokens-remaining", "10",
			"anthropic-ratelimit-output-tokens-reset", rfc(later)), true, later, 0},
		{"the later of two low resets", header(
			"anthropic-ratelimit-requests-limit", "50",
			"anthropic-ratelimit-requests-remaining", "0",
			"anthropic-ratelimit-requests-reset", rfc(reset),
			"anthropic-ratelimit-output-tokens-limit", "16000",
			"anthropic-ratelimit-output-tokens-remaining", "10",
			"anthropic-ratelimit-output-tokens-reset", rfc(later)), true, later, 0},
		{"a low one and a fine one", header(
			"anthropic-ratelimit-requests-limit", "50",
			"anthropic-ratelimit-requests-remaining", "40",
			"anthropic-ratelimit-requests-reset", rfc(later),
			"anthropic-ratelimit-tokens-limit", "16000",
			"anthropic-ratelimit-tokens-remaining", "10",
			"anthropic-ratelimit-tokens-reset", rfc(reset)), true, reset, 0},
		{"low without a reset", header(
			"anthropic-ratelimit-requests-limit", "50",
			"anthropic-ratelimit-requests-remaining", "0"), true, t0.Add(lowWithoutReset), 0},
		{"low with a reset already past", header(
			"anthropic-ratelimit-requests-limit", "50",
			"anthropic-ratelimit-requests-remaining", "0",
			"anthropic-ratelimit-requests-reset", rfc(t0.Add(-time.Second))), true, time.Time{}, 0},
		{"garbage counts", header(
			"anthropic-ratelimit-requests-limit", "many",
			"anthropic-ratelimit-requests-remaining", "-3"), false, time.Time{}, 0},
		{"no limit to compare with", header(
			"anthropic-ratelimit-requests-remaining", "0"), true, time.Time{}, 0},
		{"retry-after seconds", header("retry-after", "17"), false, time.Time{}, 17 * time.Second},
		{"retry-after date", header("retry-after", t0.Add(time.Minute).Format(http.TimeFormat)), false, time.Time{}, time.Minute},
		{"retry-after absurd", header("retry-after", "1e300"), false, time.Time{}, maxRetryAfter},
		{"retry-after garbage", header("retry-after", "soon"), false, time.Time{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rl := ReadRateLimit(tt.h, 0.05, t0)
			if rl.Seen != tt.seen || !rl.Low.Equal(tt.low) || rl.RetryAfter != tt.retryAfter {
				t.Errorf("ReadRateLimit = %+v, want seen %v, low %s, retry-after %s", rl, tt.seen, tt.low, tt.retryAfter)
			}
		})
	}
}

// TestReadRateLimitAllocations: a response without rate-limit headers,
// and one with plenty left, cost no allocation.
func TestReadRateLimitAllocations(t *testing.T) {
	for name, h := range map[string]http.Header{
		"none": header("Content-Type", "text/event-stream", "Request-Id", "req_1"),
		"plenty": header(
			"anthropic-ratelimit-requests-limit", "1000",
			"anthropic-ratelimit-requests-remaining", "999",
			"anthropic-ratelimit-requests-reset", t0.Format(time.RFC3339),
			"anthropic-ratelimit-tokens-limit", "1000",
			"anthropic-ratelimit-tokens-remaining", "999"),
		"low": header(
			"anthropic-ratelimit-requests-limit", "1000",
			"anthropic-ratelimit-requests-remaining", "0",
			"anthropic-ratelimit-requests-reset", t0.Add(time.Minute).UTC().Format(time.RFC3339)),
	} {
		if n := testing.AllocsPerRun(100, func() { ReadRateLimit(h, 0.05, t0) }); n != 0 {
			t.Errorf("%s: %.1f allocations", name, n)
		}
	}
}

func TestCooldownFromRateLimit(t *testing.T) {
	reset := t0.Add(40 * time.Second)
	tests := []struct {
		name   string
		rl     RateLimit
		status int
		want   time.Duration
	}{
		{"429, reset later than retry-after", RateLimit{Seen: true, Low: reset, RetryAfter: 10 * time.Second}, 429, 40 * time.Second},
		{"429, retry-after later than reset", RateLimit{Seen: true, Low: reset, RetryAfter: time.Minute}, 429, time.Minute},
		{"429, reset only", RateLimit{Seen: true, Low: reset}, 429, 40 * time.Second},
		{"429, nothing said", RateLimit{}, 429, 0},
		{"529 ignores resets", RateLimit{Seen: true, Low: reset, RetryAfter: 5 * time.Second}, 529, 5 * time.Second},
	}
	for _, tt := range tests {
		if got := tt.rl.Cooldown(t0, tt.status); got != tt.want {
			t.Errorf("%s: Cooldown = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestSteering: a low limit steers until its reset; a later response with
// every limit fine ends it early; a response without the headers changes
// nothing.
func TestSteering(t *testing.T) {
	s := NewState(nil)
	reset := t0.Add(30 * time.Second)
	s.ObserveRateLimit(RateLimit{Seen: true, Low: reset})
	if !s.Steered(t0) || !s.Steered(reset.Add(-time.Nanosecond)) {
		t.Fatal("not steered before the reset")
	}
	if s.Steered(reset) {
		t.Fatal("still steered at the reset")
	}
	if !s.SteeredUntil().Equal(reset) {
		t.Errorf("SteeredUntil = %s", s.SteeredUntil())
	}
	s.ObserveRateLimit(RateLimit{}) // no headers
	if !s.Steered(t0) {
		t.Fatal("a response without rate-limit headers ended the steering")
	}
	s.ObserveRateLimit(RateLimit{Seen: true})
	if s.Steered(t0) || !s.SteeredUntil().IsZero() {
		t.Fatal("a response with every limit fine did not end the steering")
	}
	if s.Status() != Unknown || !s.Eligible(t0) {
		t.Fatal("steering changed the health state")
	}
}

func BenchmarkReadRateLimitAbsent(b *testing.B) {
	h := header("Content-Type", "text/event-stream", "Request-Id", "req_1", "Cf-Ray", "x")
	for b.Loop() {
		ReadRateLimit(h, 0.05, t0)
	}
}
