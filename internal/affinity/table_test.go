package affinity

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// get fails the test unless key is bound to want (or, with want "", unbound).
func get(t *testing.T, tb *Table, now time.Time, key uint64, want string) {
	t.Helper()
	id, ok := tb.Get(now, key)
	switch {
	case want == "" && ok:
		t.Fatalf("Get(%d) at t0+%s = %q, want no binding", key, now.Sub(t0), id)
	case want != "" && (!ok || id != want):
		t.Fatalf("Get(%d) at t0+%s = %q, %v; want %q", key, now.Sub(t0), id, ok, want)
	}
}

func TestTableGetSet(t *testing.T) {
	tb := NewTable(time.Hour, 10)
	get(t, tb, t0, 1, "")
	tb.Set(t0, 1, "prod\x00a")
	tb.Set(t0, 2, "prod\x00b")
	get(t, tb, t0, 1, "prod\x00a")
	get(t, tb, t0, 2, "prod\x00b")
	tb.Set(t0, 1, "prod\x00c") // a failover rebinds the session
	get(t, tb, t0, 1, "prod\x00c")
	if n := tb.Len(); n != 2 {
		t.Errorf("Len = %d, want 2", n)
	}
}

func TestTableTTL(t *testing.T) {
	const ttl = 10 * time.Minute
	tests := []struct {
		name  string
		steps []time.Duration // Gets after the Set at t0, each an offset from t0
		live  []bool
	}{
		{"live until the TTL", []time.Duration{ttl}, []bool{true}},
		{"gone after it", []time.Duration{ttl + time.Nanosecond}, []bool{false}},
		{"gone for good", []time.Duration{ttl + 1, 0}, []bool{false, false}},
		{"a Get refreshes", []time.Duration{ttl - 1, 2*ttl - 2, 3*ttl - 3}, []bool{true, true, true}},
		{"refreshed from the Get, not the Set", []time.Duration{ttl / 2, ttl/2 + ttl + 1}, []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := NewTable(ttl, 10)
			tb.Set(t0, 7, "id")
			for i, d := range tt.steps {
				want := ""
				if tt.live[i] {
					want = "id"
				}
				get(t, tb, t0.Add(d), 7, want)
			}
		})
	}
}

func TestTableSetRefreshes(t *testing.T) {
	tb := NewTable(time.Minute, 10)
	tb.Set(t0, 1, "a")
	tb.Set(t0.Add(50*time.Second), 1, "a")
	get(t, tb, t0.Add(100*time.Second), 1, "a")
}

func TestTableExpiredEntryRemoved(t *testing.T) {
	tb := NewTable(time.Minute, 10)
	tb.Set(t0, 1, "a")
	tb.Set(t0, 2, "b")
	get(t, tb, t0.Add(2*time.Minute), 1, "")
	if n := tb.Len(); n != 1 {
		t.Errorf("Len after an expired Get = %d, want 1", n)
	}
}

// TestTableSweep: an idle table shrinks as new sessions arrive, without a
// janitor, by dropping expired entries from its cold end.
func TestTableSweep(t *testing.T) {
	tb := NewTable(time.Minute, 100)
	for k := range uint64(10) {
		tb.Set(t0, k, "old")
	}
	later := t0.Add(time.Hour)
	for k := uint64(100); k < 110; k++ {
		tb.Set(later, k, "new")
	}
	if n := tb.Len(); n != 10 {
		t.Errorf("Len = %d, want the 10 live entries only", n)
	}
	for k := uint64(100); k < 110; k++ {
		get(t, tb, later, k, "new")
	}
}

func TestTableLRU(t *testing.T) {
	tb := NewTable(time.Hour, 3)
	tb.Set(t0, 1, "a")
	tb.Set(t0.Add(1), 2, "b")
	tb.Set(t0.Add(2), 3, "c")
	get(t, tb, t0.Add(3), 1, "a") // 1 is now the most recently used; 2 the least
	tb.Set(t0.Add(4), 4, "d")
	if n := tb.Len(); n != 3 {
		t.Fatalf("Len = %d, want the cap of 3", n)
	}
	get(t, tb, t0.Add(5), 2, "")
	get(t, tb, t0.Add(5), 1, "a")
	get(t, tb, t0.Add(5), 3, "c")
	get(t, tb, t0.Add(5), 4, "d")

	// Uses so far, most recent first: 4, 3, 1. A rebind is a use too.
	tb.Set(t0.Add(6), 3, "c2")
	tb.Set(t0.Add(7), 5, "e") // evicts 1
	get(t, tb, t0.Add(8), 1, "")
	get(t, tb, t0.Add(8), 3, "c2")
	get(t, tb, t0.Add(8), 4, "d")
	get(t, tb, t0.Add(8), 5, "e")
}

func TestTableCapAtLeastOne(t *testing.T) {
	for _, max := range []int{0, -1} {
		tb := NewTable(time.Hour, max)
		tb.Set(t0, 1, "a")
		tb.Set(t0, 2, "b")
		if n := tb.Len(); n != 1 {
			t.Errorf("maxKeys %d: Len = %d, want 1", max, n)
		}
		get(t, tb, t0, 2, "b")
	}
}

func TestTableResize(t *testing.T) {
	tb := NewTable(time.Hour, 10)
	for k := range uint64(10) {
		tb.Set(t0.Add(time.Duration(k)), k, fmt.Sprint(k))
	}
	get(t, tb, t0.Add(20), 0, "0") // 0 becomes the most recent

	tb.Resize(time.Minute, 4)
	if n := tb.Len(); n != 4 {
		t.Fatalf("Len after Resize to 4 = %d", n)
	}
	// The four most recently used stay: 0, 9, 8, 7.
	for _, k := range []uint64{0, 9, 8, 7} {
		get(t, tb, t0.Add(30), k, fmt.Sprint(k))
	}
	get(t, tb, t0.Add(30), 6, "")

	// The new TTL applies from the next use.
	get(t, tb, t0.Add(30+time.Minute+1), 9, "")

	// Growing keeps what is there and allows more.
	tb.Resize(time.Hour, 100)
	for k := uint64(100); k < 150; k++ {
		tb.Set(t0.Add(40), k, "x")
	}
	if n := tb.Len(); n < 50 {
		t.Errorf("Len after growing = %d, want at least 50", n)
	}
}

func TestTableHash(t *testing.T) {
	tb := NewTable(time.Hour, 10)
	a, b := tb.Hash([]byte("session-a")), tb.Hash([]byte("session-b"))
	if a == b {
		t.Error("two keys hash alike")
	}
	if a != tb.Hash([]byte("session-a")) {
		t.Error("a key hashes differently twice")
	}
	if n := testing.AllocsPerRun(100, func() { tb.Hash([]byte("session-a")) }); n != 0 {
		t.Errorf("Hash allocates %.0f times", n)
	}
}

func TestTableConcurrent(t *testing.T) {
	tb := NewTable(time.Second, 64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				now := t0.Add(time.Duration(i) * time.Millisecond)
				k := tb.Hash(fmt.Appendf(nil, "s%d", (g*7+i)%100))
				if _, ok := tb.Get(now, k); !ok {
					tb.Set(now, k, "id")
				}
				if i%500 == 0 {
					tb.Resize(time.Second, 32+i%64)
				}
				_ = tb.Len()
			}
		})
	}
	wg.Wait()
	if n := tb.Len(); n > 95 {
		t.Errorf("Len = %d, over every cap it had", n)
	}
}
