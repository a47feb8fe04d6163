package health_test

import (
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

const roundRobinVerify = `strategy = "round-robin"
[clusters.test.health]
kind = "verify"
interval = "60s"
timeout = "10s"
`

// rateLimitHeader says remaining of limit requests are left until reset.
func rateLimitHeader(remaining, limit int, reset time.Time) http.Header {
	return http.Header{
		"Anthropic-Ratelimit-Requests-Limit":     {strconv.Itoa(limit)},
		"Anthropic-Ratelimit-Requests-Remaining": {strconv.Itoa(remaining)},
		"Anthropic-Ratelimit-Requests-Reset":     {reset.UTC().Format(time.RFC3339)},
	}
}

// sendUntil sends requests a second apart until host name has received
// one more real request than before, and returns when that was.
func sendUntil(t *testing.T, w *world, name string) time.Time {
	t.Helper()
	_, before := w.net.counts(name)
	for range 10 {
		if code := w.send(false); code != http.StatusOK {
			t.Fatalf("request failed with %d", code)
		}
		if _, real := w.net.counts(name); real > before {
			return time.Now()
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("%s never got a request", name)
	return time.Time{}
}

// TestRateLimited429KeepsOutUntilReset: a 429 whose rate-limit headers
// name a reset later than its Retry-After keeps the endpoint out until
// that reset, and not a second longer.
func TestRateLimited429KeepsOutUntilReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := fake(fakeupstream.Options{})
		w := newWorld(t, roundRobinVerify,
			upstream{name: "a", handler: a},
			upstream{name: "b", handler: fake(fakeupstream.Options{})})
		w.start()
		time.Sleep(time.Second) // the first round of checks is done
		reset := time.Now().Add(30 * time.Second)
		a.PushFaults(fakeupstream.Fault{Path: "/v1/messages", Status: 429, RetryAfter: "5", Header: rateLimitHeader(0, 50, reset)})
		limited := sendUntil(t, w, "a")
		if got := w.ep("a").State.CooldownUntil(); !got.Equal(reset) {
			t.Fatalf("cooling down until %s, want the reset %s", got, reset)
		}

		for time.Now().Before(reset) {
			if code := w.send(false); code != http.StatusOK {
				t.Fatalf("request during a's cool-down failed with %d", code)
			}
			time.Sleep(time.Second)
		}
		if n := w.net.realSince("a", limited.Add(time.Nanosecond)) - w.net.realSince("a", reset); n != 0 {
			t.Fatalf("a got %d requests before its reset", n)
		}
		back := sendUntil(t, w, "a")
		if d := back.Sub(reset); d > 2*time.Second {
			t.Errorf("a got its first request %s after the reset; want at once", d)
		}
		sendUntil(t, w, "a")
		if st := w.ep("a").State.Status(); st != endpoint.Available {
			t.Errorf("a is %s after two requests past its reset, want available", st)
		}
	})
}

// TestFloorSteersUntilReset: a reply that leaves less than the floor of a
// limit sends new requests elsewhere until the reset, proactively: the
// endpoint stays available and is back at the reset.
func TestFloorSteersUntilReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := fake(fakeupstream.Options{})
		w := newWorld(t, roundRobinVerify,
			upstream{name: "a", handler: a},
			upstream{name: "b", handler: fake(fakeupstream.Options{})})
		w.start()
		time.Sleep(time.Second)
		reset := time.Now().Add(45 * time.Second)
		a.PushFaults(fakeupstream.Fault{Path: "/v1/messages", Header: rateLimitHeader(2, 100, reset)})
		low := sendUntil(t, w, "a")
		if !w.ep("a").State.Steered(time.Now()) {
			t.Fatal("a not steered with 2 of 100 requests left")
		}
		for time.Now().Before(reset) {
			w.send(false)
			time.Sleep(time.Second)
		}
		if n := w.net.realSince("a", low.Add(time.Nanosecond)); n != 0 {
			t.Fatalf("a got %d new requests below its floor", n)
		}
		if st := w.ep("a").State.Status(); st != endpoint.Available {
			t.Fatalf("steering made a %s; it is not a failure", st)
		}
		if back := sendUntil(t, w, "a"); back.Sub(reset) > 2*time.Second {
			t.Errorf("a back %s after its reset", back.Sub(reset))
		}
	})
}

// TestFloorEverywhereStillServes: when every endpoint is below its floor,
// requests are served all the same: the floor is a preference.
func TestFloorEverywhereStillServes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reset := time.Now().Add(time.Hour)
		var ups []upstream
		for _, name := range []string{"a", "b"} {
			f := fake(fakeupstream.Options{})
			f.SetFault(fakeupstream.Fault{Header: rateLimitHeader(1, 100, reset)})
			ups = append(ups, upstream{name: name, handler: f})
		}
		w := newWorld(t, `strategy = "round-robin"`, ups...)
		for range 20 {
			if code := w.send(false); code != http.StatusOK {
				t.Fatalf("request failed with %d while every endpoint is below its floor", code)
			}
		}
		_, ra := w.net.counts("a")
		_, rb := w.net.counts("b")
		if ra == 0 || rb == 0 || !w.ep("a").State.Steered(time.Now()) || !w.ep("b").State.Steered(time.Now()) {
			t.Errorf("a served %d, b %d; both steered: %v, %v", ra, rb, w.ep("a").State.Steered(time.Now()), w.ep("b").State.Steered(time.Now()))
		}
	})
}
