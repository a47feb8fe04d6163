package balance

import (
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
)

// steer puts ep's rate limit below the floor until until.
func steer(ep *endpoint.Endpoint, until time.Time) {
	ep.State.ObserveRateLimit(endpoint.RateLimit{Seen: true, Low: until})
}

// TestSteeredAround: an endpoint below its rate-limit floor gets no new
// request while any other endpoint, of any tier, can take one; when all are
// below the floor they are still used, since steering is a preference and
// not a failure; at the reset it is back.
func TestSteeredAround(t *testing.T) {
	reset := t0.Add(30 * time.Second)
	for _, s := range strategies {
		t.Run(string(s), func(t *testing.T) {
			eps := cluster(t, spec{"a", 1, 100}, spec{"b", 1, 100}, spec{"c", 2, 100})
			a, b, c := eps[0], eps[1], eps[2]
			bal := newBalancer(t, s, eps)
			steer(a, reset)
			if got := picks(bal, t0, 100); got["a"] != 0 || got["b"] != 100 {
				t.Fatalf("a steered: %v, want all b", got)
			}
			steer(b, reset)
			if got := picks(bal, t0, 100); got["c"] != 100 {
				t.Fatalf("tier 1 steered: %v, want all c (tier 2 above the floor)", got)
			}
			steer(c, reset)
			if got := picks(bal, t0, 100); got[""] != 0 || got["c"] != 0 {
				t.Fatalf("all steered: %v, want tier 1 served all the same", got)
			}
			if got := picks(bal, reset, 100); got["a"]+got["b"] != 100 {
				t.Fatalf("at the reset: %v, want tier 1 again", got)
			}
		})
	}
}

func TestSteeredPreferred(t *testing.T) {
	eps := cluster(t, spec{"a", 1, 100}, spec{"b", 1, 100})
	a, b := eps[0], eps[1]
	bal := newBalancer(t, config.StrategyRoundRobin, eps)
	reset := t0.Add(time.Minute)
	steer(a, reset)
	for range 10 {
		if ep, _ := bal.Next(t0, nil, a); ep != b {
			t.Fatalf("session on a steered endpoint: Next = %s, want b", name(ep))
		}
	}
	steer(b, reset)
	for range 10 {
		if ep, _ := bal.Next(t0, nil, a); ep != a {
			t.Fatalf("session on a steered endpoint, all steered: Next = %s, want a (its cache)", name(ep))
		}
	}
	if ep, _ := bal.Next(reset, nil, a); ep != a {
		t.Fatalf("after the reset: Next = %s, want a", name(ep))
	}
}

// TestEffectiveWeightsMoveTraffic: under the weighted and latency
// strategies, an endpoint with a TTFB ten times the best gets a small share.
func TestEffectiveWeightsMoveTraffic(t *testing.T) {
	for _, s := range []config.Strategy{config.StrategyWeighted, config.StrategyLatency} {
		t.Run(string(s), func(t *testing.T) {
			eps := cluster(t, spec{"fast", 1, 1}, spec{"slow", 1, 1})
			eps[0].State.ObserveTTFB(50 * time.Millisecond)
			eps[1].State.ObserveTTFB(500 * time.Millisecond)
			endpoint.Rescore(t0, eps)
			got := picks(newBalancer(t, s, eps), t0, 1000)
			if got["fast"] < 800 {
				t.Errorf("%v, want the fast endpoint to get at least 80%%", got)
			}
			if s == config.StrategyWeighted && got["slow"] < 50 {
				t.Errorf("%v: the slow endpoint starved; its floor is a tenth of its weight", got)
			}
		})
	}
}

func TestNextDoesNotAllocateWhenSteered(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, s := range strategies {
		eps := cluster(t, spec{"a", 1, 3}, spec{"b", 1, 1}, spec{"c", 2, 2})
		steer(eps[0], t0.Add(time.Minute))
		steer(eps[2], t0.Add(time.Minute))
		bal := newBalancer(t, s, eps)
		if n := testing.AllocsPerRun(1000, func() { bal.Next(t0, nil, eps[0]) }); n != 0 {
			t.Errorf("%s: Next allocates %.1f times per call", s, n)
		}
	}
}
