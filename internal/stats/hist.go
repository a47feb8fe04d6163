package stats

import (
	"math"
	"time"
)

// The histogram's buckets grow by a quarter of an octave (×1.19) from 1 ms,
// so a quantile read from them is off by at most 19% anywhere between a
// millisecond and the 623 s of the last finite bucket, past the 600 s a
// long stream may take. Changing the scheme makes saved histograms
// unreadable: see histScheme.
const (
	histBase      = time.Millisecond
	histPerOctave = 4
	histFinite    = 78 // buckets 0..77 are finite; 77's upper bound is 2^(77/4) ms ≈ 623 s
	histBuckets   = histFinite + 1
)

// histScheme names the bucket layout in the state file, so that a file
// written with other buckets has its histograms dropped, not misread.
const histScheme = "log2/4 from 1ms, 79 buckets"

// hist counts durations in fixed logarithmic buckets. Bucket 0 holds
// [0, 1 ms]; bucket i holds (upper(i-1), upper(i)]; the last bucket holds
// everything beyond upper(histFinite-1).
type hist [histBuckets]int64

// bucketOf returns the bucket d falls in.
func bucketOf(d time.Duration) int {
	if d <= histBase {
		return 0
	}
	i := int(math.Ceil(histPerOctave * math.Log2(float64(d)/float64(histBase))))
	return min(i, histFinite)
}

// upper returns bucket i's upper bound; the overflow bucket has none and
// reports the last finite bound.
func upper(i int) time.Duration {
	i = min(i, histFinite-1)
	return time.Duration(float64(histBase) * math.Exp2(float64(i)/histPerOctave))
}

func (h *hist) observe(d time.Duration) { h[bucketOf(d)]++ }

func (h *hist) add(o *hist) {
	for i := range h {
		h[i] += o[i]
	}
}

func (h *hist) count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// quantile estimates the q-quantile (0 < q ≤ 1) by interpolating linearly
// within the bucket it falls in, as Prometheus' histogram_quantile does. It
// returns 0 for an empty histogram, and the last finite bound for a value in
// the overflow bucket, whose width is unknown.
func (h *hist) quantile(q float64) time.Duration {
	n := h.count()
	if n == 0 {
		return 0
	}
	rank := q * float64(n)
	var seen int64
	for i, c := range h {
		if c == 0 || float64(seen+c) < rank {
			seen += c
			continue
		}
		if i == histFinite {
			return upper(histFinite - 1)
		}
		lo := time.Duration(0)
		if i > 0 {
			lo = upper(i - 1)
		}
		hi := upper(i)
		frac := (rank - float64(seen)) / float64(c)
		return lo + time.Duration(frac*float64(hi-lo))
	}
	return upper(histFinite - 1)
}
