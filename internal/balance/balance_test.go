package balance

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
)

var (
	t0     = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	policy = endpoint.Policy{FailureThreshold: 3, CooldownMin: 5 * time.Second, CooldownMax: time.Minute}
)

var strategies = []config.Strategy{
	config.StrategyPriority, config.StrategyWeighted, config.StrategyRoundRobin,
	config.StrategyLeastInflight, config.StrategyLatency,
}

// spec is one endpoint of a test cluster.
type spec struct {
	name             string
	priority, weight int
}

// cluster builds endpoints the way the cluster registry does: from config
// values, with their own fresh state.
func cluster(t testing.TB, specs ...spec) []*endpoint.Endpoint {
	t.Helper()
	eps := make([]*endpoint.Endpoint, len(specs))
	for i, s := range specs {
		u, err := url.Parse("https://" + s.name + ".example/api")
		if err != nil {
			t.Fatal(err)
		}
		cfg := config.Endpoint{Name: s.name, BaseURL: u, Priority: s.priority, Weight: s.weight}
		eps[i] = endpoint.New("test", i, cfg, policy, endpoint.NewState(nil), nil)
	}
	return eps
}

func newBalancer(t testing.TB, s config.Strategy, eps []*endpoint.Endpoint) *Balancer {
	t.Helper()
	p, err := NewPicker(s, len(eps))
	if err != nil {
		t.Fatal(err)
	}
	return New(eps, p)
}

// picks calls Next n times with nothing tried and no preference and counts
// the endpoints chosen by name; "" counts nil.
func picks(b *Balancer, now time.Time, n int) map[string]int {
	got := map[string]int{}
	for range n {
		ep, _ := b.Next(now, nil, nil)
		if ep == nil {
			got[""]++
			continue
		}
		got[ep.Name]++
	}
	return got
}

// coolDown puts ep into a cool-down that ends at t0 + policy.CooldownMin.
func coolDown(ep *endpoint.Endpoint) {
	ep.State.Report(t0, policy, endpoint.Result{Outcome: endpoint.Overloaded, Reason: "529"})
}

func TestNewPicker(t *testing.T) {
	for _, s := range strategies {
		if p, err := NewPicker(s, 2); err != nil || p == nil {
			t.Errorf("NewPicker(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := NewPicker("random", 2); err == nil {
		t.Error(`NewPicker("random") did not fail`)
	}
}

func TestEndpoints(t *testing.T) {
	eps := cluster(t, spec{"a", 1, 1}, spec{"b", 2, 1})
	b := newBalancer(t, config.StrategyWeighted, eps)
	if got := b.Endpoints(); len(got) != 2 || got[0] != eps[0] || got[1] != eps[1] {
		t.Errorf("Endpoints() = %v", got)
	}
}

// TestTiers: every strategy stays in the best tier that has an eligible
// endpoint, and falls to the next only when all of the tier are ineligible.
func TestTiers(t *testing.T) {
	for _, s := range strategies {
		t.Run(string(s), func(t *testing.T) {
			eps := cluster(t, spec{"a1", 1, 100}, spec{"c2", 2, 100}, spec{"b1", 1, 100}, spec{"d3", 3, 100})
			a1, c2, b1, d3 := eps[0], eps[1], eps[2], eps[3]
			b := newBalancer(t, s, eps)

			if got := picks(b, t0, 100); got["a1"]+got["b1"] != 100 {
				t.Fatalf("all healthy: %v, want only tier 1", got)
			}
			coolDown(a1)
			if got := picks(b, t0, 100); got["b1"] != 100 {
				t.Fatalf("a1 cooling down: %v, want all b1", got)
			}
			b1.State.Report(t0, policy, endpoint.Result{Outcome: endpoint.Unauthorized})
			if got := picks(b, t0, 100); got["c2"] != 100 {
				t.Fatalf("tier 1 ineligible: %v, want all c2", got)
			}
			c2.State.SetDisabled(true, "operator")
			if got := picks(b, t0, 100); got["d3"] != 100 {
				t.Fatalf("tiers 1 and 2 ineligible: %v, want all d3", got)
			}
			coolDown(d3)
			if ep, a := b.Next(t0, nil, nil); ep != nil || a != endpoint.Denied {
				t.Fatalf("nothing eligible: Next = %v, %v, want nil, Denied", ep, a)
			}
			b1.State.ResetAuth("config reloaded")
			if got := picks(b, t0, 100); got["b1"] != 100 {
				t.Fatalf("b1 back: %v, want all b1", got)
			}
		})
	}
}

// TestStandby: an endpoint of weight 0 is picked only when every eligible
// endpoint of its tier is on standby, whatever the strategy.
func TestStandby(t *testing.T) {
	for _, s := range strategies {
		t.Run(string(s), func(t *testing.T) {
			eps := cluster(t, spec{"s1", 1, 0}, spec{"a", 1, 100}, spec{"b", 1, 50}, spec{"s2", 1, 0}, spec{"backup", 2, 100})
			s1, a, b := eps[0], eps[1], eps[2]
			bal := newBalancer(t, s, eps)
			// The latency strategy's exploration would find a standby.
			a.State.ObserveTTFB(time.Second)
			b.State.ObserveTTFB(time.Second)

			if got := picks(bal, t0, 1000); got["s1"]+got["s2"] != 0 {
				t.Fatalf("active endpoints eligible: %v, want no standby picked", got)
			}
			coolDown(a)
			if got := picks(bal, t0, 1000); got["b"] != 1000 {
				t.Fatalf("a cooling down: %v, want all b", got)
			}
			coolDown(b)
			got := picks(bal, t0, 1000)
			if got["s1"]+got["s2"] != 1000 {
				t.Fatalf("only standbys eligible in tier 1: %v, want only standbys (before tier 2)", got)
			}
			// Priority and latency pick the best by design; the others share.
			shares := s != config.StrategyPriority && s != config.StrategyLatency
			if shares && (got["s1"] < 400 || got["s2"] < 400) {
				t.Errorf("standbys do not share: %v", got)
			}
			s1.State.SetDisabled(true, "operator")
			if got := picks(bal, t0, 100); got["s2"] != 100 {
				t.Fatalf("one standby left: %v", got)
			}
		})
	}
}

func TestNextSkipsTried(t *testing.T) {
	for _, s := range strategies {
		t.Run(string(s), func(t *testing.T) {
			eps := cluster(t, spec{"a", 1, 3}, spec{"b", 1, 1}, spec{"c", 2, 1})
			b := newBalancer(t, s, eps)
			var tried []*endpoint.Endpoint
			for want := len(eps); want > 0; want-- {
				for range 50 {
					ep, a := b.Next(t0, tried, nil)
					if ep == nil || a != endpoint.Admitted {
						t.Fatalf("tried %d: Next = %v, %v", len(tried), ep, a)
					}
					if contains(tried, ep) {
						t.Fatalf("Next returned %s, which was tried", ep.Name)
					}
				}
				ep, _ := b.Next(t0, tried, nil)
				tried = append(tried, ep)
			}
			if ep, a := b.Next(t0, tried, nil); ep != nil || a != endpoint.Denied {
				t.Fatalf("all tried: Next = %v, %v, want nil, Denied", ep, a)
			}
			if len(tried) != len(eps) {
				t.Fatalf("tried %d distinct endpoints, want %d", len(tried), len(eps))
			}
		})
	}
}

func TestNextPreferred(t *testing.T) {
	eps := cluster(t, spec{"a", 1, 100}, spec{"b", 1, 100}, spec{"c", 2, 100}, spec{"s", 1, 0})
	a, b, c, s := eps[0], eps[1], eps[2], eps[3]
	tests := []struct {
		name      string
		setup     func()
		tried     []*endpoint.Endpoint
		preferred *endpoint.Endpoint
		want      *endpoint.Endpoint
		wantAdm   endpoint.Admission
	}{
		{"no preference", func() {}, nil, nil, a, endpoint.Admitted},
		{"preferred wins", func() {}, nil, b, b, endpoint.Admitted},
		// Affinity outranks tiers and standby: the prompt cache is there.
		{"preferred in a lower tier", func() {}, nil, c, c, endpoint.Admitted},
		{"preferred on standby", func() {}, nil, s, s, endpoint.Admitted},
		{"preferred tried", func() {}, []*endpoint.Endpoint{b}, b, a, endpoint.Admitted},
		{"preferred cooling down", func() { coolDown(b) }, nil, b, a, endpoint.Admitted},
		{"preferred disabled", func() { b.State.SetDisabled(true, "op") }, nil, b, a, endpoint.Admitted},
		{"preferred auth failed", func() { b.State.Report(t0, policy, endpoint.Result{Outcome: endpoint.Unauthorized}) }, nil, b, a, endpoint.Admitted},
		{"preferred ineligible, rest of tier tried", func() { coolDown(b) }, []*endpoint.Endpoint{a, s}, b, c, endpoint.Admitted},
		{"only standby left in tier", func() { coolDown(b) }, []*endpoint.Endpoint{a}, b, s, endpoint.Admitted},
		{"preferred and rest unusable", func() { coolDown(a); coolDown(b); coolDown(c); coolDown(s) }, nil, b, nil, endpoint.Denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ep := range eps {
				ep.State = endpoint.NewState(nil)
			}
			tt.setup()
			bal := newBalancer(t, config.StrategyPriority, eps)
			ep, adm := bal.Next(t0, tt.tried, tt.preferred)
			if ep != tt.want || adm != tt.wantAdm {
				t.Errorf("Next = %v, %v; want %v, %v", name(ep), adm, name(tt.want), tt.wantAdm)
			}
		})
	}
}

func TestNextPreferredHalfOpen(t *testing.T) {
	eps := cluster(t, spec{"a", 1, 100}, spec{"b", 1, 100})
	a, b := eps[0], eps[1]
	bal := newBalancer(t, config.StrategyPriority, eps)
	coolDown(b)
	end := t0.Add(policy.CooldownMin)
	if ep, adm := bal.Next(end, nil, b); ep != b || adm != endpoint.HalfOpen {
		t.Fatalf("preferred whose cool-down ran out: Next = %v, %v; want b, HalfOpen", name(ep), adm)
	}
	if ep, adm := bal.Next(end, nil, b); ep != a || adm != endpoint.Admitted {
		t.Fatalf("preferred with its half-open request in flight: Next = %v, %v; want a, Admitted", name(ep), adm)
	}
}

func name(ep *endpoint.Endpoint) string {
	if ep == nil {
		return "<nil>"
	}
	return ep.Name
}

// TestHalfOpenOnce: a cooled-down endpoint whose time is up gets one
// request, as HalfOpen, and the next picks go elsewhere until it answers.
func TestHalfOpenOnce(t *testing.T) {
	for _, s := range strategies {
		t.Run(string(s), func(t *testing.T) {
			eps := cluster(t, spec{"a", 1, 100}, spec{"b", 1, 100})
			a, b := eps[0], eps[1]
			bal := newBalancer(t, s, eps)
			coolDown(a)
			end := t0.Add(policy.CooldownMin)

			if got := picks(bal, end.Add(-time.Nanosecond), 50); got["b"] != 50 {
				t.Fatalf("before the cool-down ran out: %v, want all b", got)
			}
			var half *endpoint.Endpoint
			for range 20 {
				ep, adm := bal.Next(end, nil, nil)
				switch {
				case ep == a && adm == endpoint.HalfOpen && half == nil:
					half = ep
				case ep == b && adm == endpoint.Admitted:
				default:
					t.Fatalf("Next = %v, %v (half-open already given: %v)", name(ep), adm, half != nil)
				}
			}
			if half == nil {
				t.Fatal("the cooled-down endpoint never got its half-open request")
			}
			a.State.Report(end, policy, endpoint.Result{Outcome: endpoint.Success, Admission: endpoint.HalfOpen})
			if got := picks(bal, end, 100); got["a"] == 0 && s != config.StrategyPriority {
				t.Fatalf("recovered endpoint never picked: %v", got)
			}
		})
	}
}

// TestHalfOpenRace: many requests pick at the instant every cool-down runs
// out; each endpoint admits exactly one of them, and the losers of the race
// for a slot move on to another endpoint rather than failing.
func TestHalfOpenRace(t *testing.T) {
	for _, s := range strategies {
		t.Run(string(s), func(t *testing.T) {
			eps := cluster(t, spec{"a", 1, 3}, spec{"b", 1, 1}, spec{"c", 2, 1}, spec{"d", 1, 0})
			bal := newBalancer(t, s, eps)
			for _, ep := range eps {
				coolDown(ep)
			}
			end := t0.Add(policy.CooldownMin)
			const n = 32
			var mu sync.Mutex
			got := map[string]int{}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-start
					ep, adm := bal.Next(end, nil, nil)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case ep == nil:
						got[""]++
					case adm != endpoint.HalfOpen:
						t.Errorf("%s admitted as %v", ep.Name, adm)
					default:
						got[ep.Name]++
					}
				})
			}
			close(start)
			wg.Wait()
			for _, ep := range eps {
				if got[ep.Name] != 1 {
					t.Errorf("%s admitted %d half-open requests, want 1 (%v)", ep.Name, got[ep.Name], got)
				}
			}
			if got[""] != n-len(eps) {
				t.Errorf("%d requests found no endpoint, want %d", got[""], n-len(eps))
			}
		})
	}
}

// TestConcurrentNext runs every strategy from many goroutines while the
// endpoints change state, for the race detector.
func TestConcurrentNext(t *testing.T) {
	for _, s := range strategies {
		eps := cluster(t, spec{"a", 1, 3}, spec{"b", 1, 1}, spec{"c", 2, 1})
		bal := newBalancer(t, s, eps)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 300 {
					now := t0.Add(time.Duration(i) * time.Second)
					ep, adm := bal.Next(now, nil, eps[g%len(eps)])
					if ep == nil {
						continue
					}
					ep.State.Begin()
					ep.State.ObserveTTFB(time.Duration(1+i%7) * time.Millisecond)
					ep.State.End()
					ep.State.Report(now, policy, endpoint.Result{Outcome: endpoint.Outcome(i % 3), Admission: adm})
				}
			})
		}
		wg.Wait()
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, s := range strategies {
		eps := cluster(t, spec{"a", 1, 3}, spec{"b", 1, 1}, spec{"c", 1, 2}, spec{"d", 2, 1})
		bal := newBalancer(t, s, eps)
		tried := make([]*endpoint.Endpoint, 0, 4)
		tried = append(tried, eps[1])
		if n := testing.AllocsPerRun(1000, func() { bal.Next(t0, tried, eps[1]) }); n != 0 {
			t.Errorf("%s: Next allocates %.1f times per call", s, n)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	for _, s := range strategies {
		b.Run(string(s), func(b *testing.B) {
			eps := cluster(b, spec{"a", 1, 100}, spec{"b", 1, 100}, spec{"c", 1, 50}, spec{"d", 1, 25})
			bal := newBalancer(b, s, eps)
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				if ep, _ := bal.Next(now, nil, nil); ep == nil {
					b.Fatal("no endpoint")
				}
			}
		})
	}
}

func BenchmarkNextParallel(b *testing.B) {
	eps := cluster(b, spec{"a", 1, 100}, spec{"b", 1, 100}, spec{"c", 1, 50}, spec{"d", 1, 25})
	bal := newBalancer(b, config.StrategyWeighted, eps)
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bal.Next(now, nil, nil)
		}
	})
}

func ExampleBalancer_Next() {
	var eps []*endpoint.Endpoint
	for i, name := range []string{"primary", "backup"} {
		u, _ := url.Parse("https://" + name + ".example")
		cfg := config.Endpoint{Name: name, BaseURL: u, Priority: i + 1, Weight: 100}
		eps = append(eps, endpoint.New("prod", i, cfg, policy, endpoint.NewState(nil), nil))
	}
	picker, _ := NewPicker(config.StrategyPriority, len(eps))
	b := New(eps, picker)

	var tried []*endpoint.Endpoint
	for {
		ep, _ := b.Next(t0, tried, nil)
		if ep == nil {
			break
		}
		fmt.Println("attempt on", ep.Name)
		tried = append(tried, ep)
	}
	// Output:
	// attempt on primary
	// attempt on backup
}
