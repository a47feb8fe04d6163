package health_test

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

// breakable serves broken until fixed.
type breakable struct {
	fixed  atomic.Bool
	broken http.Handler
	good   http.Handler
}

func (b *breakable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.fixed.Load() {
		b.good.ServeHTTP(w, r)
		return
	}
	b.broken.ServeHTTP(w, r)
}

// errorIn200 answers everything with an error object under a 200, as some
// relays do when their own upstream fails.
var errorIn200 = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
})

func emptyContent() http.Handler {
	f := fakeupstream.New(fakeupstream.Options{})
	f.SetFault(fakeupstream.Fault{Empty: true})
	return f
}

const verifyEveryMinute = `strategy = "weighted"
[clusters.test.health]
kind = "verify"
interval = "60s"
timeout = "10s"
unhealthy_after = 3
healthy_after = 2
slow_start = "30s"
`

// waitFor advances virtual time a second at a time until cond holds, and
// fails the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(time.Second)
	}
	return time.Now()
}

// TestFakeHealthy200 pins the regression "fake-healthy 200": an endpoint
// that answers 200 with empty content, or with an error object inside,
// passes for healthy with every real request it gets, because the status
// is fine. Health checks see it: after unhealthy_after failed checks it
// gets no real request at all; once it is fixed it returns after
// healthy_after passed checks and ramps up through slow start.
func TestFakeHealthy200(t *testing.T) {
	for name, broken := range map[string]http.Handler{
		"empty content":   emptyContent(),
		"error object":    errorIn200,
		"garbage to JSON": garbage(),
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				bad := &breakable{broken: broken, good: fake(fakeupstream.Options{})}
				w := newWorld(t, verifyEveryMinute,
					upstream{name: "good", handler: fake(fakeupstream.Options{})},
					upstream{name: "bad", handler: bad})
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				w.start()
				stopTraffic := w.traffic(ctx, 5*time.Second)

				st := w.ep("bad").State
				ejected := waitFor(t, 10*time.Minute, "ejected", func() bool { return st.Status() == endpoint.CoolingDown })
				if probes, _ := w.net.counts("bad"); probes != 3 {
					t.Errorf("ejected after %d checks, want unhealthy_after = 3", probes)
				}
				if !st.Held() {
					t.Fatal("ejected but not held: real requests would test it half-open")
				}
				time.Sleep(10 * time.Minute)
				if n := w.net.realSince("bad", ejected); n != 0 {
					t.Fatalf("%d real requests reached the broken endpoint after it was ejected", n)
				}
				if _, real := w.net.counts("good"); real < 100 {
					t.Fatalf("the good endpoint served only %d requests", real)
				}

				bad.fixed.Store(true)
				fixedAt := time.Now()
				probesBefore, _ := w.net.counts("bad")
				back := waitFor(t, 15*time.Minute, "recovered", func() bool { return st.Status() == endpoint.Available })
				probesAfter, _ := w.net.counts("bad")
				if n := probesAfter - probesBefore; n != 2 {
					t.Errorf("recovered after %d checks, want healthy_after = 2", n)
				}
				if before := w.net.realSince("bad", fixedAt) - w.net.realSince("bad", back); before != 0 {
					t.Errorf("%d real requests reached it after the fix but before it recovered", before)
				}

				// Slow start: a tenth of its weight at first, all of it
				// after slow_start.
				ew := w.ep("bad").EffectiveWeight
				if got := ew(); got > 15 {
					t.Errorf("effective weight right after recovery %d, want about 10", got)
				}
				time.Sleep(15 * time.Second)
				if got := ew(); got < 35 || got > 65 {
					t.Errorf("effective weight half-way through slow start %d, want about 50", got)
				}
				time.Sleep(20 * time.Second)
				if got := ew(); got < 95 {
					t.Errorf("effective weight after slow start %d, want 100", got)
				}
				time.Sleep(5 * time.Minute)
				if n := w.net.realSince("bad", back); n == 0 {
					t.Error("no real request reached the endpoint after it recovered")
				}
				cancel()
				stopTraffic()
				t.Logf("transitions: %q", w.transitionLog())
			})
		})
	}
}

// garbage answers 200 with an HTML page under application/json.
func garbage() http.Handler {
	f := fakeupstream.New(fakeupstream.Options{})
	f.SetFault(fakeupstream.Fault{Garbage: true})
	return f
}
