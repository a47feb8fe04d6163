package supervise

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

// Every test runs in a synctest bubble: time is virtual, so backoffs cost
// nothing and durations can be compared exactly, and synctest.Test fails if a
// goroutine started by the supervisor is still blocked when the test ends,
// which is the check that shutdown leaves nothing behind.

// logSink collects JSON log lines; hold makes writers block until release,
// like a stderr pipe nobody reads.
type logSink struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	gate chan struct{} // non-nil while writes are held
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	gate := l.gate
	l.mu.Unlock()
	if gate != nil {
		<-gate
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) hold() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gate = make(chan struct{})
}

func (l *logSink) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.gate)
	l.gate = nil
}

func (l *logSink) entries(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(l.buf.String()) {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// start runs s in the background and returns a function that cancels it and
// waits for Run's result.
func start(t *testing.T, s *Supervisor) (shutdown func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	synctest.Wait()
	return func() error {
		cancel()
		return <-errc
	}
}

func TestRestartsFailedComponent(t *testing.T) {
	tests := []struct {
		name    string
		fail    func() error
		wantMsg string
		check   func(t *testing.T, e map[string]any)
	}{
		{
			name:    "error",
			fail:    func() error { return errors.New("upstream socket closed") },
			wantMsg: "component failed",
			check: func(t *testing.T, e map[string]any) {
				if e["error"] != "upstream socket closed" {
					t.Errorf("error = %v", e["error"])
				}
			},
		},
		{
			name:    "panic",
			fail:    func() error { panic(fmt.Sprint("key ", "sk-ant-api03-secret")) },
			wantMsg: "component panicked",
			check: func(t *testing.T, e map[string]any) {
				if e["panic_type"] != "string" {
					t.Errorf("panic_type = %v, want string", e["panic_type"])
				}
				if _, ok := e["panic"]; ok {
					t.Errorf("panic value logged: %v", e["panic"])
				}
				if s, _ := e["stack"].(string); !strings.Contains(s, "supervise.TestRestartsFailedComponent") {
					t.Errorf("stack does not show the panicking function:\n%s", s)
				}
			},
		},
		{
			name: "runtime panic",
			fail: func() error {
				var m map[string]int
				m["x"] = 1 //lint:ignore SA5000 the runtime panic is the point
				return nil
			},
			wantMsg: "component panicked",
			check: func(t *testing.T, e map[string]any) {
				if e["panic"] != "assignment to entry in nil map" {
					t.Errorf("panic = %v, want the runtime's message", e["panic"])
				}
			},
		},
		{
			name:    "early nil return",
			fail:    func() error { return nil },
			wantMsg: "component returned while the daemon was still running",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				logs := &logSink{}
				s := New(zerolog.New(logs), Options{})
				var runs atomic.Int32
				s.Add("flaky", func(ctx context.Context) error {
					if runs.Add(1) <= 3 {
						return tc.fail()
					}
					<-ctx.Done()
					return ctx.Err()
				})
				shutdown := start(t, s)
				time.Sleep(time.Minute)
				synctest.Wait()

				if got := runs.Load(); got != 4 {
					t.Errorf("runs = %d, want 4 (3 failures, then up)", got)
				}
				if got := s.Restarts()["flaky"]; got != 3 {
					t.Errorf("Restarts()[flaky] = %d, want 3", got)
				}
				if err := shutdown(); err != nil {
					t.Fatalf("Run: %v", err)
				}

				entries := logs.entries(t)
				if len(entries) != 3 {
					t.Fatalf("got %d log lines, want 3: %v", len(entries), entries)
				}
				for i, e := range entries {
					if e["level"] != "error" || e["message"] != tc.wantMsg || e["component"] != "flaky" {
						t.Errorf("line %d = %v, want error %q for flaky", i, e, tc.wantMsg)
					}
					if e["restarts"] != float64(i+1) {
						t.Errorf("line %d restarts = %v, want %d", i, e["restarts"], i+1)
					}
					if tc.check != nil {
						tc.check(t, e)
					}
				}
				if strings.Contains(fmt.Sprint(entries), "sk-ant") {
					t.Error("a panic value reached the log")
				}
			})
		})
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(zerolog.Nop(), Options{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, ResetAfter: time.Hour})
		var mu sync.Mutex
		var starts []time.Time
		s.Add("down", func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			starts = append(starts, time.Now())
			return errors.New("down")
		})
		shutdown := start(t, s)
		time.Sleep(10 * time.Second)
		if err := shutdown(); err != nil {
			t.Fatal(err)
		}

		want := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
		mu.Lock()
		defer mu.Unlock()
		if len(starts) < len(want)+1 {
			t.Fatalf("only %d starts in 10s", len(starts))
		}
		for i, w := range want {
			w *= time.Millisecond
			gap := starts[i+1].Sub(starts[i])
			if gap < w*8/10 || gap > w*12/10 {
				t.Errorf("delay before restart %d = %v, want %v ±20%%", i+1, gap, w)
			}
		}
	})
}

func TestBackoffResetsAfterLongRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(zerolog.Nop(), Options{MinBackoff: 100 * time.Millisecond, MaxBackoff: 10 * time.Second, ResetAfter: time.Second})
		var mu sync.Mutex
		var starts, ends []time.Time
		var runs int
		s.Add("sometimes", func(ctx context.Context) error {
			mu.Lock()
			runs++
			n := runs
			starts = append(starts, time.Now())
			mu.Unlock()
			if n == 4 {
				// Up long enough to count as healthy, then fail again.
				time.Sleep(2 * time.Second)
			}
			mu.Lock()
			ends = append(ends, time.Now())
			mu.Unlock()
			if n >= 6 {
				<-ctx.Done()
				return nil
			}
			return errors.New("down")
		})
		shutdown := start(t, s)
		time.Sleep(time.Minute)
		if err := shutdown(); err != nil {
			t.Fatal(err)
		}

		mu.Lock()
		defer mu.Unlock()
		if len(starts) != 6 {
			t.Fatalf("runs = %d, want 6", len(starts))
		}
		// Quick failures double the delay; the failure after the long run
		// starts over at MinBackoff, and the next quick one doubles it again.
		want := []time.Duration{100, 200, 400, 100, 200}
		for i, w := range want {
			w *= time.Millisecond
			gap := starts[i+1].Sub(ends[i])
			if gap < w*8/10 || gap > w*12/10 {
				t.Errorf("delay before run %d = %v, want %v ±20%%", i+2, gap, w)
			}
		}
	})
}

func TestShutdownWaitsForEveryComponent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &logSink{}
		s := New(zerolog.New(logs), Options{})
		var returned sync.WaitGroup
		returned.Add(3)
		s.Add("quick", func(ctx context.Context) error {
			defer returned.Done()
			<-ctx.Done()
			return ctx.Err()
		})
		s.Add("drainer", func(ctx context.Context) error {
			defer returned.Done()
			<-ctx.Done()
			time.Sleep(5 * time.Second) // in-flight streams finishing
			return nil
		})
		s.Add("bad-drain", func(ctx context.Context) error {
			defer returned.Done()
			<-ctx.Done()
			return errors.New("drain timed out with 2 streams open")
		})
		var flaps atomic.Int32
		s.Add("in-backoff", func(ctx context.Context) error {
			flaps.Add(1)
			return errors.New("down")
		})

		shutdown := start(t, s)
		time.Sleep(time.Second)
		flapsBefore := flaps.Load()
		began := time.Now()
		if err := shutdown(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if took := time.Since(began); took != 5*time.Second {
			t.Errorf("Run returned after %v, want 5s: the drainer's time", took)
		}
		returned.Wait()
		if got := flaps.Load(); got != flapsBefore {
			t.Errorf("a component in backoff ran %d more times after shutdown began", got-flapsBefore)
		}

		var warned bool
		for _, e := range logs.entries(t) {
			if e["component"] == "bad-drain" {
				warned = e["level"] == "warn" && e["error"] == "drain timed out with 2 streams open"
			}
			if e["component"] == "quick" || e["component"] == "drainer" || (e["component"] == "in-backoff" && e["level"] != "error") {
				t.Errorf("clean shutdown logged: %v", e)
			}
		}
		if !warned {
			t.Error("failed drain not logged at warn")
		}
		for _, name := range []string{"quick", "drainer", "bad-drain"} {
			if n := s.Restarts()[name]; n != 0 {
				t.Errorf("%s restarted %d times during shutdown", name, n)
			}
		}
		if _, err := s.Start("late", func(context.Context) error { return nil }); !errors.Is(err, ErrStopped) {
			t.Errorf("Start after Run = %v, want ErrStopped", err)
		}
		if err := s.Run(context.Background()); err == nil {
			t.Error("second Run succeeded")
		}
	})
}

func TestStartAndStopWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(zerolog.Nop(), Options{})
		s.Add("admin", func(ctx context.Context) error { <-ctx.Done(); return nil })
		shutdown := start(t, s)

		var started, drained atomic.Bool
		listener := func(ctx context.Context) error {
			started.Store(true)
			<-ctx.Done()
			time.Sleep(3 * time.Second)
			drained.Store(true)
			return nil
		}
		stop, err := s.Start("listener:dev", listener)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Start("listener:dev", listener); !errors.Is(err, ErrNameTaken) {
			t.Errorf("second Start of the same name = %v, want ErrNameTaken", err)
		}
		synctest.Wait()
		if !started.Load() {
			t.Fatal("component started after Run did not run")
		}

		stop()
		if !drained.Load() {
			t.Error("stop returned before the component did")
		}
		stop() // idempotent

		// The name is free again, e.g. a cluster deleted and added back.
		stop, err = s.Start("listener:dev", func(ctx context.Context) error { <-ctx.Done(); return nil })
		if err != nil {
			t.Fatalf("Start after stop: %v", err)
		}
		stop()

		// A component waiting out its backoff stops without running again.
		var runs atomic.Int32
		stop, err = s.Start("flapping", func(context.Context) error {
			runs.Add(1)
			return errors.New("down")
		})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // inside the first 80–120ms backoff
		stop()
		time.Sleep(time.Minute)
		if got := runs.Load(); got != 1 {
			t.Errorf("runs = %d, want 1", got)
		}

		if err := shutdown(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestStopBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(zerolog.Nop(), Options{})
		var ran atomic.Bool
		stop, err := s.Start("never", func(context.Context) error { ran.Store(true); return nil })
		if err != nil {
			t.Fatal(err)
		}
		stop()
		stop()
		s.Add("never", func(ctx context.Context) error { <-ctx.Done(); return nil }) // name freed
		shutdown := start(t, s)
		if err := shutdown(); err != nil {
			t.Fatal(err)
		}
		if ran.Load() {
			t.Error("component stopped before Run was run")
		}
	})
}

func TestAddPanicsOnTakenName(t *testing.T) {
	s := New(zerolog.Nop(), Options{})
	s.Add("stats", func(context.Context) error { return nil })
	defer func() {
		if v := recover(); v == nil {
			t.Error("Add of a taken name did not panic")
		}
	}()
	s.Add("stats", func(context.Context) error { return nil })
}

func TestHeartbeatStopsWhenLoopIsStuck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &logSink{}
		var beats atomic.Int32
		s := New(zerolog.New(logs), Options{
			Heartbeat:         func() { beats.Add(1) },
			HeartbeatInterval: time.Second,
		})
		fail := make(chan struct{})
		var runs atomic.Int32
		s.Add("watcher", func(ctx context.Context) error {
			if runs.Add(1) == 1 {
				select {
				case <-fail:
					return errors.New("inotify queue overflow")
				case <-ctx.Done():
					return nil
				}
			}
			<-ctx.Done()
			return nil
		})
		shutdown := start(t, s)

		time.Sleep(3500 * time.Millisecond)
		if got := beats.Load(); got != 3 {
			t.Fatalf("beats after 3.5s = %d, want 3", got)
		}

		// The loop logs the failure into a writer that never returns, as a
		// full stderr pipe would: the loop is stuck, and so are the pings.
		logs.hold()
		close(fail)
		time.Sleep(time.Minute)
		if got := beats.Load(); got != 3 {
			t.Errorf("beats while the loop is stuck = %d, want still 3", got)
		}
		if got := runs.Load(); got != 1 {
			t.Errorf("component restarted while the loop was stuck (runs = %d)", got)
		}

		logs.release()
		time.Sleep(2 * time.Second)
		if got := beats.Load(); got < 4 {
			t.Errorf("beats after the loop recovered = %d, want more than 3", got)
		}
		if got := runs.Load(); got != 2 {
			t.Errorf("runs after recovery = %d, want 2", got)
		}
		if err := shutdown(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNoHeartbeatWithoutInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var beats atomic.Int32
		s := New(zerolog.Nop(), Options{Heartbeat: func() { beats.Add(1) }})
		shutdown := start(t, s)
		time.Sleep(time.Hour)
		if err := shutdown(); err != nil {
			t.Fatal(err)
		}
		if got := beats.Load(); got != 0 {
			t.Errorf("beats = %d with no interval", got)
		}
	})
}
