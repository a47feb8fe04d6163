package supervise

import (
	"testing"
	"time"
)

func TestNextBackoff(t *testing.T) {
	const lo, hi = 100 * time.Millisecond, 30 * time.Second
	tests := []struct {
		prev, want time.Duration
	}{
		{0, lo},
		{lo, 200 * time.Millisecond},
		{12800 * time.Millisecond, 25600 * time.Millisecond},
		{25600 * time.Millisecond, hi},
		{hi, hi},
	}
	for _, tc := range tests {
		if got := nextBackoff(tc.prev, lo, hi); got != tc.want {
			t.Errorf("nextBackoff(%v) = %v, want %v", tc.prev, got, tc.want)
		}
	}
}

func TestScaleStaysWithinTwentyPercent(t *testing.T) {
	const d = time.Second
	tests := []struct {
		r    float64
		want time.Duration
	}{
		{0, 800 * time.Millisecond},
		{0.5, d},
		{0.999999, 1199999600 * time.Nanosecond},
	}
	for _, tc := range tests {
		if got := scale(d, tc.r); got != tc.want {
			t.Errorf("scale(1s, %v) = %v, want %v", tc.r, got, tc.want)
		}
	}
	for range 1000 {
		if got := jitter(d); got < 800*time.Millisecond || got >= 1200*time.Millisecond {
			t.Fatalf("jitter(1s) = %v, outside [0.8s, 1.2s)", got)
		}
	}
}
