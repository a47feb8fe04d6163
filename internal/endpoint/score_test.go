package endpoint

import (
	"fmt"
	"math"
	"net/url"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
)

// scored builds a cluster of endpoints with the given configured weights.
func scored(t *testing.T, p Policy, weights ...int) []*Endpoint {
	t.Helper()
	eps := make([]*Endpoint, len(weights))
	for i, w := range weights {
		u, err := url.Parse(fmt.Sprintf("https://e%d.example", i))
		if err != nil {
			t.Fatal(err)
		}
		eps[i] = New("c", i, config.Endpoint{Name: fmt.Sprintf("e%d", i), BaseURL: u, Weight: w}, p, NewState(nil), nil)
	}
	return eps
}

func near(got, want float64) bool { return math.Abs(got-want) < 0.002 }

func TestFreshEndpointHasFullWeight(t *testing.T) {
	eps := scored(t, checkPolicy, 100, 1, 0)
	Rescore(t0, eps)
	for i, want := range []int{100, 1, 0} {
		if got := eps[i].EffectiveWeight(); got != want {
			t.Errorf("endpoint of weight %d: EffectiveWeight %d", want, got)
		}
		if f := eps[i].State.Factor(); f != 1 {
			t.Errorf("factor %v, want 1", f)
		}
	}
}

// TestTTFBFactor: the TTFB factor is the cluster's best over the
// endpoint's own, clamped at a tenth.
func TestTTFBFactor(t *testing.T) {
	tests := []struct {
		ttfb []time.Duration
		want []float64
	}{
		{[]time.Duration{50 * time.Millisecond, 500 * time.Millisecond}, []float64{1, 0.1}},
		{[]time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, []float64{1, 0.5}},
		{[]time.Duration{time.Second, 50 * time.Second}, []float64{1, 0.1}},
		{[]time.Duration{0, 300 * time.Millisecond}, []float64{1, 1}}, // no sample: no judgement
		{[]time.Duration{200 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}, []float64{1, 1, 0.5}},
	}
	for _, tt := range tests {
		eps := scored(t, checkPolicy, make([]int, len(tt.ttfb))...)
		for i, d := range tt.ttfb {
			if d > 0 {
				eps[i].State.ObserveTTFB(d)
			}
		}
		Rescore(t0, eps)
		for i, want := range tt.want {
			if got := eps[i].State.Factor(); !near(got, want) {
				t.Errorf("ttfb %v: endpoint %d factor %.3f, want %.3f", tt.ttfb, i, got, want)
			}
		}
	}
}

// TestBestTTFBIgnoresEndpointsOut: a cooling-down endpoint's old, fast
// TTFB does not make the ones taking traffic look slow.
func TestBestTTFBIgnoresEndpointsOut(t *testing.T) {
	eps := scored(t, checkPolicy, 100, 100)
	eps[0].State.ObserveTTFB(10 * time.Millisecond)
	eps[1].State.ObserveTTFB(100 * time.Millisecond)
	eps[0].State.Report(t0, checkPolicy, Result{Outcome: Overloaded})
	Rescore(t0, eps)
	if f := eps[1].State.Factor(); f != 1 {
		t.Errorf("factor of the only endpoint taking traffic %.3f, want 1", f)
	}
}

func TestSuccessRateFactor(t *testing.T) {
	p := checkPolicy
	p.FailureThreshold = 1000 // keep it available whatever happens
	tests := []struct{ ok, fail int }{{0, 0}, {20, 0}, {15, 5}, {5, 15}, {0, 1}, {0, 100}}
	for _, tt := range tests {
		eps := scored(t, p, 100)
		s := eps[0].State
		for range tt.ok {
			s.Report(t0, p, ok())
		}
		for range tt.fail {
			s.Report(t0, p, fail("x"))
		}
		Rescore(t0.Add(time.Second), eps)
		want := max(float64(tt.ok+priorSuccesses)/float64(tt.ok+tt.fail+priorSuccesses), 0.1)
		if got := s.Factor(); !near(got, want) {
			t.Errorf("%d ok, %d failed: factor %.3f, want %.3f", tt.ok, tt.fail, got, want)
		}
		if rate, n := s.SuccessRate(t0.Add(time.Second)); n != tt.ok+tt.fail {
			t.Errorf("SuccessRate counted %d (rate %.2f), want %d", n, rate, tt.ok+tt.fail)
		}
	}
}

// TestWindowSlides: outcomes older than the window no longer count.
func TestWindowSlides(t *testing.T) {
	s := NewState(nil)
	p := checkPolicy
	p.FailureThreshold = 1000
	for range 10 {
		s.Report(t0, p, fail("x"))
	}
	for _, tt := range []struct {
		after time.Duration
		n     int
	}{{0, 10}, {30 * time.Second, 10}, {50 * time.Second, 10}, {61 * time.Second, 0}, {time.Hour, 0}} {
		if _, n := s.SuccessRate(t0.Add(tt.after)); n != tt.n {
			t.Errorf("%s later: %d outcomes in the window, want %d", tt.after, n, tt.n)
		}
	}
	// A slot reused for a new bucket starts from zero.
	s.Report(t0.Add(time.Minute), p, ok())
	if rate, n := s.SuccessRate(t0.Add(time.Minute)); n != 1 || rate != 1 {
		t.Errorf("after reuse: rate %.2f over %d, want 1 over 1", rate, n)
	}
}

// TestSlowStart: after a recovery the factor ramps linearly from a tenth
// to full over slow_start.
func TestSlowStart(t *testing.T) {
	eps := scored(t, checkPolicy, 100)
	s := eps[0].State
	// The failure leaves the success-rate window before the recovery, so
	// that only the ramp shows.
	s.Report(t0.Add(-2*time.Minute), checkPolicy, Result{Outcome: Overloaded})
	s.Report(t0, checkPolicy, probeOK())
	s.Report(t0, checkPolicy, probeOK())
	wantStatus(t, s, Available)
	if got := eps[0].EffectiveWeight(); got != 10 {
		t.Errorf("at recovery, before any rescoring: EffectiveWeight %d, want 10", got)
	}
	for _, tt := range []struct {
		at   time.Duration
		want int
	}{{0, 10}, {time.Second, 10}, {6 * time.Second, 20}, {15 * time.Second, 50}, {27 * time.Second, 90}, {30 * time.Second, 100}, {time.Hour, 100}} {
		Rescore(t0.Add(tt.at), eps)
		if got := eps[0].EffectiveWeight(); got != tt.want {
			t.Errorf("%s after recovery: EffectiveWeight %d, want %d", tt.at, got, tt.want)
		}
	}
}

// TestSmallWeightsStillScale: balancers work in thousandths, so a slow
// endpoint of weight 1 loses share to a fast one of weight 1, and the
// rounded EffectiveWeight never drops to the standby's 0.
func TestSmallWeightsStillScale(t *testing.T) {
	eps := scored(t, checkPolicy, 1, 1)
	eps[0].State.ObserveTTFB(50 * time.Millisecond)
	eps[1].State.ObserveTTFB(500 * time.Millisecond)
	Rescore(t0, eps)
	if a, b := eps[0].WeightMilli(), eps[1].WeightMilli(); a != 1000 || b != 100 {
		t.Errorf("WeightMilli = %d, %d; want 1000, 100", a, b)
	}
	if got := eps[1].EffectiveWeight(); got != 1 {
		t.Errorf("EffectiveWeight of a slow weight-1 endpoint = %d, want 1", got)
	}
}

func BenchmarkEffectiveWeight(b *testing.B) {
	u, _ := url.Parse("https://e.example")
	ep := New("c", 0, config.Endpoint{Name: "e", BaseURL: u, Weight: 100}, checkPolicy, NewState(nil), nil)
	for b.Loop() {
		_ = ep.WeightMilli()
	}
}
