package stats

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestBucketsCoverSixHundredSeconds(t *testing.T) {
	if got := bucketOf(600 * time.Second); got >= histFinite {
		t.Errorf("600 s falls in the overflow bucket")
	}
	if got := bucketOf(time.Hour); got != histFinite {
		t.Errorf("1 h falls in bucket %d, want the overflow bucket %d", got, histFinite)
	}
	for _, d := range []time.Duration{0, time.Microsecond, time.Millisecond} {
		if got := bucketOf(d); got != 0 {
			t.Errorf("bucketOf(%v) = %d, want 0", d, got)
		}
	}
	// Every duration lies within its bucket's bounds.
	for d := time.Millisecond + 1; d < 700*time.Second; d = d*11/10 + 1 {
		i := bucketOf(d)
		if i == histFinite {
			if d <= upper(histFinite-1) {
				t.Errorf("%v in the overflow bucket, below its bound %v", d, upper(histFinite-1))
			}
			continue
		}
		if d > upper(i) || (i > 0 && d <= upper(i-1)) {
			t.Errorf("%v in bucket %d, which holds (%v, %v]", d, i, upper(i-1), upper(i))
		}
	}
}

// TestQuantiles checks the estimates against exact quantiles: the bucket
// layout promises an error under 19%.
func TestQuantiles(t *testing.T) {
	tests := []struct {
		name   string
		values func(i int) time.Duration
		n      int
	}{
		{"uniform 1ms-1s", func(i int) time.Duration { return time.Duration(i+1) * time.Millisecond }, 1000},
		{"uniform 1s-600s", func(i int) time.Duration { return time.Duration(i+1) * time.Second }, 600},
		{"constant 250ms", func(int) time.Duration { return 250 * time.Millisecond }, 100},
		{"long tail", func(i int) time.Duration {
			if i%20 == 0 {
				return 90 * time.Second
			}
			return 800 * time.Millisecond
		}, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h hist
			exact := make([]time.Duration, tc.n)
			for i := range tc.n {
				exact[i] = tc.values(i)
				h.observe(exact[i])
			}
			slices.Sort(exact)
			for _, q := range []float64{0.5, 0.95, 0.99} {
				want := exact[int(math.Ceil(q*float64(tc.n)))-1]
				got := h.quantile(q)
				if ratio := float64(got) / float64(want); ratio < 1/1.19 || ratio > 1.19 {
					t.Errorf("p%v = %v, exact %v", q*100, got, want)
				}
			}
		})
	}
}

func TestQuantileEdges(t *testing.T) {
	var h hist
	if got := h.quantile(0.5); got != 0 {
		t.Errorf("empty histogram: p50 = %v, want 0", got)
	}
	h.observe(2 * time.Hour)
	if got := h.quantile(0.99); got != upper(histFinite-1) {
		t.Errorf("overflow: p99 = %v, want the last finite bound %v", got, upper(histFinite-1))
	}
}
