package health_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

// three returns three good upstreams.
func three() []upstream {
	var ups []upstream
	for _, n := range []string{"a", "b", "c"} {
		ups = append(ups, upstream{name: n, handler: fake(fakeupstream.Options{})})
	}
	return ups
}

func totalProbes(w *world, names ...string) int {
	total := 0
	for _, n := range names {
		p, _ := w.net.counts(n)
		total += p
	}
	return total
}

// TestSteadyTrafficSendsNoProbes: when every endpoint serves real messages
// more often than the interval, an hour passes without a single check.
func TestSteadyTrafficSendsNoProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, roundRobinVerify, three()...)
		ctx, cancel := context.WithCancel(context.Background())
		stopTraffic := w.traffic(ctx, 10*time.Second) // each endpoint every 30s
		time.Sleep(30 * time.Second)
		w.start()
		time.Sleep(time.Hour)
		cancel()
		stopTraffic()
		if n := totalProbes(w, "a", "b", "c"); n != 0 {
			t.Errorf("%d checks in an hour of steady traffic, want 0", n)
		}
	})
}

// TestProbesPerHour measures how many checks a cluster of three endpoints
// with verify every 60s sends in an hour: idle, busy from the start, and
// idle with one endpoint broken for good. docs/health.md quotes the
// numbers this test logs (go test -run ProbesPerHour -v).
func TestProbesPerHour(t *testing.T) {
	tests := []struct {
		name    string
		traffic bool
		broken  bool
		min     int
		max     int
	}{
		// 60 per endpoint and hour, ±10 % jitter.
		{"idle", false, false, 3 * 54, 3*67 + 3},
		// The first round, before traffic has shown anything; none after.
		{"busy", true, false, 3, 3},
		// The broken one is checked after its growing cool-down, capped at
		// cooldown_max (5m): about 12 an hour instead of 60.
		{"idle, one broken", false, true, 2*54 + 10, 2*67 + 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ups := three()
				if tt.broken {
					ups[2].handler = emptyContent()
				}
				w := newWorld(t, roundRobinVerify, ups...)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				w.start()
				if tt.traffic {
					// Traffic begins once the first round, which runs
					// right after READY, is under way.
					synctest.Wait()
					defer w.traffic(ctx, 10*time.Second)()
				}
				time.Sleep(time.Hour)
				cancel()
				n := totalProbes(w, "a", "b", "c")
				t.Logf("MEASURED %s: %d checks in one hour (3 endpoints, verify every 60s)", tt.name, n)
				if n < tt.min || n > tt.max {
					t.Errorf("%d checks, want %d to %d", n, tt.min, tt.max)
				}
			})
		})
	}
}

// TestJitterSpreadsChecks: endpoints configured together are not checked
// in lockstep; each one's gaps stay within ±10 % of the interval.
func TestJitterSpreadsChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, roundRobinVerify, three()...)
		w.start()
		time.Sleep(30 * time.Minute)
		w.stop()
		w.stop = nil
		for _, name := range []string{"a", "b", "c"} {
			cs := w.checksOf(name)
			for i := 1; i < len(cs); i++ {
				gap := cs[i].At.Sub(cs[i-1].At)
				if gap < 54*time.Second || gap > 66*time.Second+time.Second {
					t.Errorf("%s: gap %s between checks, want 60s ±10%%", name, gap)
				}
			}
		}
		at := func(name string, i int) time.Time { return w.checksOf(name)[i].At }
		if at("a", 5).Equal(at("b", 5)) && at("b", 5).Equal(at("c", 5)) {
			t.Error("the sixth checks of all three endpoints came at the same instant")
		}
	})
}

// TestOutOfRotationFirst: when max_concurrency leaves room for only some,
// checks go first to endpoints that are out of rotation or unknown, and no
// more than max_concurrency run at once.
func TestOutOfRotationFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ups []upstream
		for _, n := range []string{"a", "b", "c", "d"} {
			f := fake(fakeupstream.Options{})
			f.SetFault(fakeupstream.Fault{HeaderDelay: 2 * time.Second})
			ups = append(ups, upstream{name: n, handler: f})
		}
		w := newWorld(t, `[clusters.test.health]
kind = "verify"
interval = "60s"
timeout = "10s"
max_concurrency = 2
`, ups...)
		now := time.Now()
		p := w.ep("a").Policy
		for _, n := range []string{"a", "b"} {
			w.ep(n).State.Report(now, p, endpoint.Result{Outcome: endpoint.Success})
		}
		w.ep("c").State.Report(now, p, endpoint.Result{Outcome: endpoint.Unauthorized, Reason: "401"})
		w.ep("d").State.Report(now, p, endpoint.Result{Outcome: endpoint.Overloaded, Reason: "529"})
		w.start()
		time.Sleep(30 * time.Second)
		order := w.net.probeOrder()
		if len(order) < 4 {
			t.Fatalf("checks %v, want all four", order)
		}
		if first := order[:2]; !slices.Contains(first, "c") {
			t.Errorf("first checks went to %v; want the auth-failed c among them", first)
		}
		if got := w.net.maxInflight(); got != 2 {
			t.Errorf("%d checks in flight at once, want max_concurrency = 2", got)
		}
	})
}

// TestFlappingEndpoint: an endpoint whose checks alternate between passing
// and failing never changes state, because neither unhealthy_after failed
// checks nor healthy_after passed ones ever come in a row; once out, one
// that passes only every other check never comes back.
func TestFlappingEndpoint(t *testing.T) {
	for _, tt := range []struct {
		pattern string // F fails, S passes, repeated
		start   int    // where in the pattern the first check falls
		want    []string
	}{
		{"FS", 1, []string{"a: unknown -> available (health check passed)"}},
		{"FFS", 2, []string{"a: unknown -> available (health check passed)"}},
		{"FFFSFSFSFSFS", 0, nil},
	} {
		t.Run(tt.pattern, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				good := fake(fakeupstream.Options{})
				var n atomic.Int64
				flap := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					i := n.Add(1) - 1
					if tt.pattern[int(i)%len(tt.pattern)] == 'F' {
						errorIn200.ServeHTTP(rw, r)
						return
					}
					good.ServeHTTP(rw, r)
				})
				n.Store(int64(tt.start))
				w := newWorld(t, verifyEveryMinute, upstream{name: "a", handler: flap})
				w.start()
				time.Sleep(3 * time.Hour)
				got := w.transitionLog()
				if tt.want == nil {
					// Out after three failures, then never back in.
					for _, tr := range got {
						if strings.Contains(tr, "-> available") {
							t.Fatalf("came back while flapping: %q", got)
						}
					}
					if len(got) == 0 || !strings.Contains(got[0], "3 health checks failed") {
						t.Fatalf("transitions %q, want out after three failed checks", got)
					}
					return
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("transitions %q, want %q", got, tt.want)
				}
			})
		})
	}
}

// TestFollowsReload: a reload that removes an endpoint and adds another
// is followed from the next round: the new one is checked at once, the
// removed one never again, and one kept keeps its schedule.
func TestFollowsReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ups := three()
		w := newWorld(t, roundRobinVerify, ups[0], ups[1])
		w.start()
		time.Sleep(10 * time.Second)
		if a, b := totalProbes(w, "a"), totalProbes(w, "b"); a != 1 || b != 1 {
			t.Fatalf("first round: a %d, b %d checks, want 1 each", a, b)
		}
		w.apply(roundRobinVerify, ups[0], ups[2])
		time.Sleep(2 * time.Second)
		if c := totalProbes(w, "c"); c != 1 {
			t.Fatalf("c checked %d times right after the reload, want once", c)
		}
		if a := totalProbes(w, "a"); a != 1 {
			t.Fatalf("a checked %d times right after the reload: it kept its schedule, want 1", a)
		}
		time.Sleep(10 * time.Minute)
		if b := totalProbes(w, "b"); b != 1 {
			t.Errorf("b checked %d times, though the reload removed it after the first", b)
		}
		if a := totalProbes(w, "a"); a < 9 {
			t.Errorf("a checked only %d times in 10 minutes", a)
		}
	})
}

// TestTimeout: a check that gets no answer within timeout fails with the
// reason "timeout", at timeout exactly.
func TestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake(fakeupstream.Options{})
		f.SetFault(fakeupstream.Fault{HeaderDelay: time.Minute})
		w := newWorld(t, roundRobinVerify, upstream{name: "a", handler: f})
		w.start()
		time.Sleep(15 * time.Second)
		cs := w.checksOf("a")
		if len(cs) != 1 || cs[0].Reason != "timeout" || cs[0].Duration != 10*time.Second || cs[0].OK() {
			t.Fatalf("checks %+v, want one that timed out after 10s", cs)
		}
		if last, _ := w.ep("a").State.LastError(); last != "timeout" {
			t.Errorf("last error %q", last)
		}
	})
}

// TestNoneAndPassthroughAreNotChecked: a cluster with kind = "none" sends
// no check, and neither does an endpoint with auth = "passthrough", which
// has no key of its own; the log says why once.
func TestNoneAndPassthroughAreNotChecked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, `strategy = "round-robin"`, three()...)
		w.start()
		time.Sleep(time.Hour)
		if n := totalProbes(w, "a", "b", "c"); n != 0 {
			t.Errorf("kind none: %d checks", n)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, roundRobinVerify,
			upstream{name: "p", handler: fake(fakeupstream.Options{}), extra: `auth = "passthrough"`, noKey: true},
			upstream{name: "k", handler: fake(fakeupstream.Options{})})
		w.start()
		time.Sleep(time.Hour)
		if n := totalProbes(w, "p"); n != 0 {
			t.Errorf("passthrough endpoint: %d checks", n)
		}
		if n := totalProbes(w, "k"); n < 50 {
			t.Errorf("the other endpoint: %d checks in an hour", n)
		}
		w.mu.Lock()
		logs := w.logs.String()
		w.mu.Unlock()
		if n := strings.Count(logs, "no key of its own"); n != 1 {
			t.Errorf("the log says %d times why p is not checked, want once", n)
		}
	})
}

// TestAuthFailedNeedsItsChecks: an endpoint whose key was refused stays
// out through checks that fail for other reasons (the gap where a 529
// turned it into cooling-down and half-open requests retried the key),
// and comes back after healthy_after checks pass.
func TestAuthFailedNeedsItsChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var phase atomic.Int32 // 0: key refused, 1: overloaded, 2: fine
		good := fake(fakeupstream.Options{})
		h := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			switch phase.Load() {
			case 0:
				rw.Header().Set("Content-Type", "application/json")
				rw.WriteHeader(http.StatusUnauthorized)
				// A relay that quotes the key it refused.
				fmt.Fprintf(rw, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key %s"}}`, r.Header.Get("X-Api-Key"))
			case 1:
				rw.Header().Set("Content-Type", "application/json")
				rw.WriteHeader(529)
				fmt.Fprint(rw, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
			default:
				good.ServeHTTP(rw, r)
			}
		})
		w := newWorld(t, verifyEveryMinute, upstream{name: "a", handler: h}, upstream{name: "b", handler: fake(fakeupstream.Options{})})
		w.start()
		st := w.ep("a").State
		waitFor(t, time.Minute, "auth failed", func() bool { return st.Status() == endpoint.AuthFailed })
		if reason := st.Reason(); !strings.Contains(reason, "401 authentication_error: invalid x-api-key [redacted]") {
			t.Errorf("reason %q", reason)
		}
		phase.Store(1)
		time.Sleep(10 * time.Minute)
		if s := st.Status(); s != endpoint.AuthFailed {
			t.Fatalf("after failed checks the endpoint is %s, want still auth-failed", s)
		}
		phase.Store(2)
		waitFor(t, 5*time.Minute, "recovered", func() bool { return st.Status() == endpoint.Available })
		got := w.transitionLog()
		want := []string{
			"a: unknown -> auth-failed",
			"a: auth-failed -> available (2 checks passed)",
		}
		var mine []string
		for _, tr := range got {
			if strings.HasPrefix(tr, "a:") {
				mine = append(mine, tr)
			}
		}
		if len(mine) != 2 || !strings.HasPrefix(mine[0], want[0]) || mine[1] != want[1] {
			t.Errorf("transitions %q, want %q", mine, want)
		}
	})
}

// TestEffectiveWeightsMoveTraffic: with a TTFB of 50 ms on one endpoint and
// 500 ms on the other, the scores give the fast one a clear majority of
// 1000 requests, under both strategies that weigh.
func TestEffectiveWeightsMoveTraffic(t *testing.T) {
	for _, strategy := range []string{"weighted", "latency"} {
		t.Run(strategy, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fast, slow := fake(fakeupstream.Options{}), fake(fakeupstream.Options{})
				fast.SetFault(fakeupstream.Fault{HeaderDelay: 50 * time.Millisecond})
				slow.SetFault(fakeupstream.Fault{HeaderDelay: 500 * time.Millisecond})
				w := newWorld(t, fmt.Sprintf("strategy = %q", strategy),
					upstream{name: "fast", handler: fast}, upstream{name: "slow", handler: slow})
				w.start() // kind none: the scheduler only scores
				for range 1000 {
					if code := w.send(false); code != http.StatusOK {
						t.Fatalf("status %d", code)
					}
				}
				_, f := w.net.counts("fast")
				_, s := w.net.counts("slow")
				t.Logf("%s: fast %d, slow %d; effective weights %d and %d", strategy, f, s,
					w.ep("fast").EffectiveWeight(), w.ep("slow").EffectiveWeight())
				if f < 700 {
					t.Errorf("fast endpoint got %d of 1000 requests, want a clear majority", f)
				}
				if got := w.ep("slow").EffectiveWeight(); got > 20 {
					t.Errorf("slow endpoint's effective weight %d, want about 10", got)
				}
			})
		})
	}
}
