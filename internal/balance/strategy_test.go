package balance

import (
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
)

// TestDistribution checks each strategy's share of 1000 picks among
// healthy, idle endpoints of one tier.
func TestDistribution(t *testing.T) {
	tests := []struct {
		name     string
		strategy config.Strategy
		specs    []spec
		want     map[string]float64 // share of picks
		within   float64            // absolute tolerance on each share
	}{
		{"weighted 3:1", config.StrategyWeighted, []spec{{"heavy", 1, 3}, {"light", 1, 1}},
			map[string]float64{"heavy": 0.75, "light": 0.25}, 0.05},
		{"weighted 300:100", config.StrategyWeighted, []spec{{"heavy", 1, 300}, {"light", 1, 100}},
			map[string]float64{"heavy": 0.75, "light": 0.25}, 0.05},
		{"weighted 5:3:2", config.StrategyWeighted, []spec{{"a", 1, 5}, {"b", 1, 3}, {"c", 1, 2}},
			map[string]float64{"a": 0.5, "b": 0.3, "c": 0.2}, 0.02},
		{"weighted ignores a lower tier", config.StrategyWeighted, []spec{{"a", 1, 1}, {"b", 2, 1000}},
			map[string]float64{"a": 1}, 0},
		{"round-robin even", config.StrategyRoundRobin, []spec{{"a", 1, 100}, {"b", 1, 1}, {"c", 1, 0}, {"d", 1, 50}},
			map[string]float64{"a": 1.0 / 3, "b": 1.0 / 3, "d": 1.0 / 3}, 0.01},
		{"priority first of tier", config.StrategyPriority, []spec{{"b", 2, 100}, {"a", 1, 1}, {"c", 1, 100}},
			map[string]float64{"a": 1}, 0},
		{"least-inflight idle endpoints share", config.StrategyLeastInflight, []spec{{"a", 1, 100}, {"b", 1, 100}, {"c", 1, 100}},
			map[string]float64{"a": 1.0 / 3, "b": 1.0 / 3, "c": 1.0 / 3}, 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 1000
			got := picks(newBalancer(t, tt.strategy, cluster(t, tt.specs...)), t0, n)
			for _, s := range tt.specs {
				share := float64(got[s.name]) / n
				if d := share - tt.want[s.name]; d > tt.within || d < -tt.within {
					t.Errorf("%s got %.3f of picks, want %.3f ± %.2f (%v)", s.name, share, tt.want[s.name], tt.within, got)
				}
			}
		})
	}
}

// TestWeightedSmooth: the heavy endpoint's turns are spread out, never a
// burst longer than its weight ratio.
func TestWeightedSmooth(t *testing.T) {
	tests := []struct {
		specs  []spec
		heavy  string
		maxRun int
	}{
		{[]spec{{"heavy", 1, 3}, {"light", 1, 1}}, "heavy", 3},
		{[]spec{{"light", 1, 1}, {"heavy", 1, 3}}, "heavy", 3},
		{[]spec{{"heavy", 1, 300}, {"light", 1, 100}}, "heavy", 3},
		// nginx's a a b a c a a, repeated: two turns meet across the cycle.
		{[]spec{{"heavy", 1, 5}, {"b", 1, 1}, {"c", 1, 1}}, "heavy", 4},
		{[]spec{{"heavy", 1, 1}, {"b", 1, 1}}, "heavy", 1},
	}
	for _, tt := range tests {
		b := newBalancer(t, config.StrategyWeighted, cluster(t, tt.specs...))
		run, longest := 0, 0
		for range 1000 {
			ep, _ := b.Next(t0, nil, nil)
			if ep.Name == tt.heavy {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
		if longest > tt.maxRun {
			t.Errorf("%v: %s picked %d times in a row, want at most %d", tt.specs, tt.heavy, longest, tt.maxRun)
		}
	}
}

// TestWeightedRetry: on a retry the tried endpoint is left out and the
// weights still hold among the rest.
func TestWeightedRetry(t *testing.T) {
	eps := cluster(t, spec{"a", 1, 2}, spec{"b", 1, 1}, spec{"c", 1, 1})
	b := newBalancer(t, config.StrategyWeighted, eps)
	got := map[string]int{}
	for range 1000 {
		first, _ := b.Next(t0, nil, nil)
		second, _ := b.Next(t0, []*endpoint.Endpoint{first}, nil)
		if second == first {
			t.Fatal("retry went to the tried endpoint")
		}
		got[first.Name]++
	}
	if got["a"] < 450 || got["a"] > 550 {
		t.Errorf("first attempts %v, want a at about half despite the retries", got)
	}
}

func TestLeastInflight(t *testing.T) {
	eps := cluster(t, spec{"a", 1, 100}, spec{"b", 1, 100}, spec{"c", 1, 100})
	a, b, c := eps[0], eps[1], eps[2]
	bal := newBalancer(t, config.StrategyLeastInflight, eps)
	begin := func(ep *endpoint.Endpoint, n int) {
		for range n {
			ep.State.Begin()
		}
	}
	begin(a, 2)
	begin(b, 1)
	if got := picks(bal, t0, 100); got["c"] != 100 {
		t.Fatalf("c idle: %v, want all c", got)
	}
	begin(c, 3)
	if got := picks(bal, t0, 100); got["b"] != 100 {
		t.Fatalf("b least loaded: %v, want all b", got)
	}
	b.State.End()
	a.State.End()
	a.State.End()
	// a and b now idle, c busy: the idle two share, not necessarily evenly.
	if got := picks(bal, t0, 100); got["c"] != 0 || got["a"] < 25 || got["b"] < 25 {
		t.Fatalf("a and b idle: %v, want them to share", got)
	}

	// Following the load as it comes: each pick begins a request that has
	// not ended, so the picks spread over the endpoints evenly.
	for _, ep := range eps {
		ep.State = endpoint.NewState(nil)
	}
	for range 300 {
		ep, _ := bal.Next(t0, nil, nil)
		ep.State.Begin()
	}
	for _, ep := range eps {
		if n := ep.State.Inflight(); n != 100 {
			t.Errorf("%s has %d in flight, want 100", ep.Name, n)
		}
	}
}

func TestLatency(t *testing.T) {
	t.Run("prefers the faster but explores", func(t *testing.T) {
		eps := cluster(t, spec{"slow", 1, 100}, spec{"fast", 1, 100})
		eps[0].State.ObserveTTFB(500 * time.Millisecond)
		eps[1].State.ObserveTTFB(100 * time.Millisecond)
		got := picks(newBalancer(t, config.StrategyLatency, eps), t0, 1000)
		if got["fast"] < 900 {
			t.Errorf("fast got %d of 1000 picks, want at least 900 (%v)", got["fast"], got)
		}
		if got["slow"] < 10 {
			t.Errorf("slow got %d of 1000 picks, want some exploration to see whether it became fast", got["slow"])
		}
	})
	t.Run("an endpoint without a sample goes first", func(t *testing.T) {
		eps := cluster(t, spec{"known", 1, 100}, spec{"new", 1, 100})
		eps[0].State.ObserveTTFB(time.Millisecond)
		bal := newBalancer(t, config.StrategyLatency, eps)
		if ep, _ := bal.Next(t0, nil, nil); ep.Name != "new" {
			t.Errorf("picked %s, want the endpoint with no sample", ep.Name)
		}
	})
	t.Run("per unit of weight", func(t *testing.T) {
		eps := cluster(t, spec{"a", 1, 100}, spec{"b", 1, 300})
		eps[0].State.ObserveTTFB(100 * time.Millisecond)
		eps[1].State.ObserveTTFB(200 * time.Millisecond) // slower, but three times the weight
		got := picks(newBalancer(t, config.StrategyLatency, eps), t0, 1000)
		if got["b"] < 900 {
			t.Errorf("b got %d of 1000 picks, want at least 900 (%v)", got["b"], got)
		}
	})
	t.Run("follows a change", func(t *testing.T) {
		eps := cluster(t, spec{"a", 1, 100}, spec{"b", 1, 100})
		eps[0].State.ObserveTTFB(100 * time.Millisecond)
		eps[1].State.ObserveTTFB(200 * time.Millisecond)
		bal := newBalancer(t, config.StrategyLatency, eps)
		for range 20 {
			eps[0].State.ObserveTTFB(2 * time.Second) // a slowed down
		}
		if got := picks(bal, t0, 100); got["b"] < 90 {
			t.Errorf("after a slowed down: %v, want mostly b", got)
		}
	})
}
