package endpoint

import (
	"sync"
	"testing"
	"time"
)

func TestTTFB(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		want    time.Duration
	}{
		{"no sample", nil, 0},
		{"first sample is the average", []time.Duration{100 * time.Millisecond}, 100 * time.Millisecond},
		{"moves 30% toward a new sample", []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, 130 * time.Millisecond},
		{"and down again", []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 30 * time.Millisecond}, 100 * time.Millisecond},
		{"one outlier does not swing it", []time.Duration{time.Second, time.Second, time.Second, 11 * time.Second}, 4 * time.Second},
		{"a zero sample keeps an average", []time.Duration{0}, 1},
		{"a negative sample keeps an average", []time.Duration{-time.Second}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState(nil)
			for _, d := range tt.samples {
				s.ObserveTTFB(d)
			}
			// The average is float arithmetic; a nanosecond either way is the same.
			if got := s.TTFB(); got < tt.want-1 || got > tt.want+1 {
				t.Errorf("TTFB = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTTFBConverges(t *testing.T) {
	s := NewState(nil)
	s.ObserveTTFB(10 * time.Second)
	for range 50 {
		s.ObserveTTFB(200 * time.Millisecond)
	}
	if got := s.TTFB(); got < 199*time.Millisecond || got > 201*time.Millisecond {
		t.Errorf("TTFB after 50 samples of 200ms = %s", got)
	}
}

// TestTTFBConcurrent: concurrent samples are all folded in, none lost to a
// lost update. Equal samples must leave the average exactly there; mixed
// ones must leave it within their range.
func TestTTFBConcurrent(t *testing.T) {
	const goroutines, samples = 8, 1000
	same := NewState(nil)
	mixed := NewState(nil)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range samples {
				same.ObserveTTFB(250 * time.Millisecond)
				mixed.ObserveTTFB(time.Duration(100+(g*samples+i)%900) * time.Millisecond)
				_ = same.TTFB()
			}
		})
	}
	wg.Wait()
	if got := same.TTFB(); got != 250*time.Millisecond {
		t.Errorf("TTFB of equal samples = %s, want 250ms", got)
	}
	if got := mixed.TTFB(); got < 100*time.Millisecond || got > time.Second {
		t.Errorf("TTFB of samples in [100ms, 1s) = %s", got)
	}
}

func TestInflight(t *testing.T) {
	const goroutines, requests = 8, 1000
	s := NewState(nil)
	if s.Inflight() != 0 {
		t.Fatalf("fresh Inflight = %d", s.Inflight())
	}
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range requests {
				s.Begin()
			}
		})
	}
	wg.Wait()
	if got := s.Inflight(); got != goroutines*requests {
		t.Fatalf("Inflight after %d Begins = %d", goroutines*requests, got)
	}
	for range goroutines {
		wg.Go(func() {
			for range requests {
				s.End()
				s.Begin()
				s.End()
			}
		})
	}
	wg.Wait()
	if got := s.Inflight(); got != 0 {
		t.Fatalf("Inflight after every End = %d", got)
	}
}
