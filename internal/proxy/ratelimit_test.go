package proxy_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

// lowRequests is a response header saying the request limit is nearly
// used up until reset.
func lowRequests(reset time.Time) http.Header {
	return http.Header{
		"Anthropic-Ratelimit-Requests-Limit":     {"1000"},
		"Anthropic-Ratelimit-Requests-Remaining": {"3"},
		"Anthropic-Ratelimit-Requests-Reset":     {reset.UTC().Format(time.RFC3339)},
	}
}

// TestRateLimitFloorSteers: a successful reply whose rate-limit headers
// show less than the floor left sends the next requests to the secondary,
// although the primary is healthy and preferred; its answer still reaches
// the client, since steering is not a failure.
func TestRateLimitFloorSteers(t *testing.T) {
	r := newRig(t, ``, twoTiers)
	reset := time.Now().Add(time.Hour)
	r.ups[0].PushFaults(fakeupstream.Fault{Header: lowRequests(reset)})
	if resp, _ := r.do(r.request("POST", "/v1/messages", messageBody(false))); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	primary := r.cluster.Endpoint("primary").State
	if !primary.Steered(time.Now()) {
		t.Fatal("primary not steered after a reply below the floor")
	}
	if got := primary.SteeredUntil(); !got.Equal(reset.Truncate(time.Second)) {
		t.Errorf("steered until %s, want the reset %s", got, reset)
	}
	for range 5 {
		r.do(r.request("POST", "/v1/messages", messageBody(false)))
	}
	if n := r.ups[0].Stats().Requests; n != 1 {
		t.Errorf("primary got %d requests, want only the first", n)
	}
	if got := r.state("primary").String(); got != "unknown" && got != "available" {
		t.Errorf("steering changed the primary's health to %s", got)
	}
}

// TestRateLimitedCoolsUntilReset: a 429 keeps the endpoint out until its
// limit resets when that is later than Retry-After.
func TestRateLimitedCoolsUntilReset(t *testing.T) {
	r := newRig(t, ``, twoTiers)
	reset := time.Now().Add(10 * time.Minute)
	h := lowRequests(reset)
	h.Set("Anthropic-Ratelimit-Requests-Remaining", "0")
	r.ups[0].PushFaults(fakeupstream.Fault{Status: 429, RetryAfter: "30", Header: h})
	if resp, _ := r.do(r.request("POST", "/v1/messages", messageBody(false))); resp.StatusCode != 200 {
		t.Fatalf("status %d, want the secondary's 200", resp.StatusCode)
	}
	until := r.cluster.Endpoint("primary").State.CooldownUntil()
	if d := until.Sub(reset); d < -time.Second || d > time.Second {
		t.Errorf("cool-down until %s, want the reset %s", until, reset)
	}
}

// TestServedMarksOnlyRealReplies: only a complete message with output
// counts as the proof of health that spares an endpoint its checks; a 200
// with empty content, an HTML page or an error event does not.
func TestServedMarksOnlyRealReplies(t *testing.T) {
	tests := []struct {
		name   string
		stream bool
		fault  fakeupstream.Fault
		served bool
	}{
		{"message", false, fakeupstream.Fault{}, true},
		{"stream", true, fakeupstream.Fault{}, true},
		{"empty message", false, fakeupstream.Fault{Empty: true}, false},
		{"empty stream", true, fakeupstream.Fault{Empty: true}, false},
		{"garbage", false, fakeupstream.Fault{Garbage: true}, false},
		{"error event", true, fakeupstream.Fault{ErrorAfterEvents: 2}, false},
		{"client error", false, fakeupstream.Fault{Status: 400}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, ``, oneEndpoint)
			r.ups[0].SetFault(tt.fault)
			r.do(r.request("POST", "/v1/messages", messageBody(tt.stream)))
			got := !r.cluster.Endpoint("a").State.LastServed().IsZero()
			if got != tt.served {
				t.Errorf("served = %v, want %v", got, tt.served)
			}
		})
	}
}
