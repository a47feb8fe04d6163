package proxy

import "testing"

// TestBodyPoolFits pins the regression where one mixed pool handed a 256 KB
// capture the 32 KB buffer of a request, which the pool then dropped and
// replaced with a fresh allocation on every request: whatever was put back
// before, get must hand out a buffer with room for the size asked.
func TestBodyPoolFits(t *testing.T) {
	sizes := []int{0, 1, 1 << 10, 4 << 10, 4<<10 + 1, 16 << 10, 49 << 10, 256 << 10, 1 << 20, 1<<20 + 1, 3 << 20}
	var bp bodyPool
	for _, put := range sizes {
		b := bp.get(put)
		*b = append(*b, make([]byte, put)...) // may grow it past its class
		bp.put(b)
		for _, want := range sizes {
			got := bp.get(want)
			if cap(*got) < want || len(*got) != 0 {
				t.Fatalf("after put(%d): get(%d) = len %d cap %d", put, want, len(*got), cap(*got))
			}
			bp.put(got)
		}
	}
}

// TestBodyPoolSmallBodiesStaySmall checks that a small body takes a small
// buffer: a stream holds its request's buffer until its headers arrive.
func TestBodyPoolSmallBodiesStaySmall(t *testing.T) {
	var bp bodyPool
	for _, tc := range []struct{ size, maxCap int }{
		{0, 4 << 10},
		{1 << 10, 4 << 10},
		{10 << 10, 16 << 10},
		{49 << 10, 64 << 10},
	} {
		if b := bp.get(tc.size); cap(*b) > tc.maxCap {
			t.Errorf("get(%d): cap %d, want at most %d", tc.size, cap(*b), tc.maxCap)
		}
	}
}
