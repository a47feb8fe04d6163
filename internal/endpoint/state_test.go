package endpoint

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// t0 is an arbitrary fixed instant: the state machine takes its clock as an
// argument, so tests move time by hand instead of sleeping.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var testPolicy = Policy{FailureThreshold: 3, CooldownMin: 5 * time.Second, CooldownMax: time.Minute, UnhealthyAfter: 3}

// recorder collects the transitions a State reports.
type recorder struct {
	mu sync.Mutex
	ts []Transition
}

func (r *recorder) onChange(t Transition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ts = append(r.ts, t)
}

func (r *recorder) transitions() []Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Transition(nil), r.ts...)
}

func newRecorded() (*State, *recorder) {
	r := &recorder{}
	return NewState(r.onChange), r
}

func fail(reason string) Result { return Result{Outcome: Failure, Reason: reason, Admission: Admitted} }

func ok() Result { return Result{Outcome: Success, Admission: Admitted} }

// wantStatus fails the test unless s is in status want.
func wantStatus(t *testing.T, s *State, want Status) {
	t.Helper()
	if got := s.Status(); got != want {
		t.Fatalf("status = %s, want %s (reason %q)", got, want, s.Reason())
	}
}

// wantCooldown fails the test unless s is cooling down until want.
func wantCooldown(t *testing.T, s *State, want time.Time) {
	t.Helper()
	wantStatus(t, s, CoolingDown)
	if got := s.CooldownUntil(); !got.Equal(want) {
		t.Fatalf("cooling down until %s, want %s (%s after t0)", got, want, want.Sub(t0))
	}
}

// halfOpen lets the cool-down of s run out at now, admits the half-open
// request and reports r for it.
func halfOpen(t *testing.T, s *State, now time.Time, r Result) {
	t.Helper()
	if a := s.Admit(now); a != HalfOpen {
		t.Fatalf("Admit at end of cool-down = %v, want HalfOpen", a)
	}
	r.Admission = HalfOpen
	s.Report(now, testPolicy, r)
}

func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{
		Unknown: "unknown", Available: "available", CoolingDown: "cooling-down",
		AuthFailed: "auth-failed", Disabled: "disabled", Status(99): "invalid",
	} {
		if got := s.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", uint32(s), got, want)
		}
	}
}

func TestTrafficAdmission(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*State)
		want  Admission
	}{
		{"unknown", func(*State) {}, Admitted},
		{"available", func(s *State) { s.Report(t0, testPolicy, ok()) }, Admitted},
		{"cooling down", func(s *State) { s.Report(t0, testPolicy, Result{Outcome: Overloaded}) }, Denied},
		{"auth failed", func(s *State) { s.Report(t0, testPolicy, Result{Outcome: Unauthorized}) }, Denied},
		{"disabled", func(s *State) { s.SetDisabled(true, "operator") }, Denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState(nil)
			tt.setup(s)
			if got := s.Eligible(t0); got != (tt.want != Denied) {
				t.Errorf("Eligible = %v, want %v", got, tt.want != Denied)
			}
			// Eligible has no side effects: asking twice changes nothing.
			if got := s.Eligible(t0); got != (tt.want != Denied) {
				t.Errorf("second Eligible = %v, want %v", got, tt.want != Denied)
			}
			for range 3 {
				if got := s.Admit(t0); got != tt.want {
					t.Fatalf("Admit = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestFailureThreshold(t *testing.T) {
	tests := []struct {
		threshold, failures int
		cools               bool
	}{
		{threshold: 3, failures: 1, cools: false},
		{threshold: 3, failures: 2, cools: false},
		{threshold: 3, failures: 3, cools: true},
		{threshold: 1, failures: 1, cools: true},
		{threshold: 5, failures: 4, cools: false},
		{threshold: 5, failures: 5, cools: true},
		{threshold: 0, failures: 1, cools: true}, // a zero threshold means the first failure
	}
	for _, tt := range tests {
		p := testPolicy
		p.FailureThreshold = tt.threshold
		s := NewState(nil)
		s.Report(t0, p, ok())
		for i := range tt.failures {
			s.Report(t0.Add(time.Duration(i)*time.Second), p, fail("502 bad gateway"))
		}
		last := t0.Add(time.Duration(tt.failures-1) * time.Second)
		switch {
		case tt.cools:
			wantCooldown(t, s, last.Add(p.CooldownMin))
			if got := s.Reason(); got != "502 bad gateway" {
				t.Errorf("threshold %d: reason %q, want the last failure's", tt.threshold, got)
			}
		case s.Status() != Available:
			t.Errorf("threshold %d, %d failures: status %s, want available", tt.threshold, tt.failures, s.Status())
		}
	}
}

// TestSuccessResetsFailureCount: the threshold counts consecutive failures,
// so a success in between starts the count again.
func TestSuccessResetsFailureCount(t *testing.T) {
	s := NewState(nil)
	s.Report(t0, testPolicy, fail("a"))
	s.Report(t0, testPolicy, fail("b"))
	s.Report(t0, testPolicy, ok())
	s.Report(t0, testPolicy, fail("c"))
	s.Report(t0, testPolicy, fail("d"))
	wantStatus(t, s, Available)
	s.Report(t0, testPolicy, fail("e"))
	wantCooldown(t, s, t0.Add(testPolicy.CooldownMin))
}

func TestFlappingEndpointStaysAvailable(t *testing.T) {
	for _, pattern := range [][]Outcome{
		{Success, Failure},
		{Failure, Success},
		{Failure, Failure, Success}, // one short of the threshold each time
	} {
		s, rec := newRecorded()
		now := t0
		for range 1000 {
			for _, o := range pattern {
				s.Report(now, testPolicy, Result{Outcome: o, Admission: Admitted, Reason: "flap"})
				if st := s.Status(); st == CoolingDown {
					t.Fatalf("pattern %v: cooled down with threshold %d", pattern, testPolicy.FailureThreshold)
				}
				now = now.Add(time.Second)
			}
		}
		// Unknown to available, once; flapping is no transition at all.
		if ts := rec.transitions(); len(ts) != 1 || ts[0].To != Available {
			t.Errorf("pattern %v: transitions %+v, want one to available", pattern, ts)
		}
	}
}

func TestOverloadedCoolsDownAtOnce(t *testing.T) {
	s := NewState(nil)
	s.Report(t0, testPolicy, ok())
	s.Report(t0, testPolicy, Result{Outcome: Overloaded, Admission: Admitted, Reason: "529 overloaded"})
	wantCooldown(t, s, t0.Add(testPolicy.CooldownMin))
	if s.Eligible(t0.Add(testPolicy.CooldownMin-1)) || s.Admit(t0.Add(testPolicy.CooldownMin-1)) != Denied {
		t.Error("admitted before the cool-down ran out")
	}
	if !s.Eligible(t0.Add(testPolicy.CooldownMin)) {
		t.Error("not eligible when the cool-down ran out")
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name    string
		results []Result
	}{
		{"overloaded", []Result{{Outcome: Overloaded, RetryAfter: 42 * time.Second}}},
		{"beyond cooldown_max", []Result{{Outcome: Overloaded, RetryAfter: 10 * time.Minute}}},
		{"below cooldown_min", []Result{{Outcome: Overloaded, RetryAfter: time.Second}}},
		{"failure threshold", []Result{{Outcome: Failure}, {Outcome: Failure}, {Outcome: Failure, RetryAfter: 42 * time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState(nil)
			for _, r := range tt.results {
				s.Report(t0, testPolicy, r)
			}
			wantCooldown(t, s, t0.Add(tt.results[len(tt.results)-1].RetryAfter))
		})
	}
}

// TestBackoff follows an endpoint that keeps failing its half-open request:
// each cool-down doubles, from cooldown_min up to cooldown_max; a success
// ends it and the next cool-down starts from cooldown_min again.
func TestBackoff(t *testing.T) {
	s, rec := newRecorded()
	now := t0
	s.Report(now, testPolicy, Result{Outcome: Overloaded, Reason: "529"})
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute, time.Minute}
	for i, d := range want {
		wantCooldown(t, s, now.Add(d))
		now = now.Add(d)
		if i < len(want)-1 {
			halfOpen(t, s, now, Result{Outcome: Failure, Reason: "connect: connection refused"})
		}
	}
	halfOpen(t, s, now, Result{Outcome: Success})
	wantStatus(t, s, Available)

	s.Report(now, testPolicy, Result{Outcome: Overloaded, Admission: Admitted, Reason: "529"})
	wantCooldown(t, s, now.Add(testPolicy.CooldownMin))

	// A failed half-open request stays in cooling-down, but its new, longer
	// cool-down is reported, so the log shows the back-off growing.
	var got []string
	for _, tr := range rec.transitions() {
		s := fmt.Sprintf("%s>%s", tr.From, tr.To)
		if !tr.Until.IsZero() {
			s += fmt.Sprintf(" until t0+%s", tr.Until.Sub(t0))
		}
		got = append(got, s)
	}
	wantTs := []string{
		"unknown>cooling-down until t0+5s",
		"cooling-down>cooling-down until t0+15s",
		"cooling-down>cooling-down until t0+35s",
		"cooling-down>cooling-down until t0+1m15s",
		"cooling-down>cooling-down until t0+2m15s",
		"cooling-down>cooling-down until t0+3m15s",
		"cooling-down>cooling-down until t0+4m15s",
		"cooling-down>available",
		"available>cooling-down until t0+4m20s",
	}
	if g, w := strings.Join(got, "\n"), strings.Join(wantTs, "\n"); g != w {
		t.Errorf("transitions:\n%s\nwant:\n%s", g, w)
	}
}

func TestBackoffNeverOverflows(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		n    int
		want time.Duration
	}{
		{"first", testPolicy, 0, 5 * time.Second},
		{"doubled", testPolicy, 2, 20 * time.Second},
		{"capped", testPolicy, 4, time.Minute},
		{"many", testPolicy, 1 << 20, time.Minute},
		// A long cooldown_min shifted far enough wraps around a 64-bit
		// duration; the back-off must still be cooldown_max, never less.
		{"long min, many", Policy{CooldownMin: 1<<44 + 1<<30, CooldownMax: 30 * 24 * time.Hour}, 20, 30 * 24 * time.Hour},
		{"long max", Policy{CooldownMin: time.Hour, CooldownMax: 1<<63 - 1}, 100, 1<<63 - 1},
		{"zero min", Policy{CooldownMax: time.Minute}, 3, time.Minute},
		{"min above max", Policy{CooldownMin: time.Hour, CooldownMax: time.Minute}, 0, time.Minute},
	}
	for _, tt := range tests {
		if got := backoff(tt.p, tt.n); got != tt.want {
			t.Errorf("%s: backoff(%+v, %d) = %s, want %s", tt.name, tt.p, tt.n, got, tt.want)
		}
	}
}

func TestHalfOpenAdmitsExactlyOne(t *testing.T) {
	s := NewState(nil)
	s.Report(t0, testPolicy, Result{Outcome: Overloaded})
	end := t0.Add(testPolicy.CooldownMin)

	const n = 64
	count := func(now time.Time) map[Admission]int {
		var mu sync.Mutex
		got := map[Admission]int{}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				a := s.Admit(now)
				mu.Lock()
				got[a]++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		return got
	}

	if got := count(end.Add(-time.Nanosecond)); got[Denied] != n {
		t.Fatalf("before the cool-down ran out: %v, want all %d denied", got, n)
	}
	if got := count(end); got[HalfOpen] != 1 || got[Denied] != n-1 {
		t.Fatalf("when the cool-down ran out: %v, want 1 half-open and %d denied", got, n-1)
	}
	if s.Eligible(end) {
		t.Error("eligible while the half-open request is in flight")
	}
	if got := count(end.Add(time.Hour)); got[Denied] != n {
		t.Fatalf("with the half-open request in flight: %v, want all denied", got)
	}
	wantStatus(t, s, CoolingDown)
}

func TestReleaseGivesBackHalfOpenSlot(t *testing.T) {
	s := NewState(nil)
	s.Report(t0, testPolicy, Result{Outcome: Overloaded})
	end := t0.Add(testPolicy.CooldownMin)
	if a := s.Admit(end); a != HalfOpen {
		t.Fatalf("Admit = %v, want HalfOpen", a)
	}
	s.Release(Admitted) // an ordinary request's release holds no slot
	s.Release(Denied)
	if a := s.Admit(end); a != Denied {
		t.Fatalf("Admit after releasing an ordinary request = %v, want Denied", a)
	}
	s.Release(HalfOpen)
	wantCooldown(t, s, end) // the client left: nothing learned, still cooling down
	if !s.Eligible(end) {
		t.Error("not eligible after the half-open slot was released")
	}
	if a := s.Admit(end); a != HalfOpen {
		t.Fatalf("Admit after Release = %v, want HalfOpen", a)
	}
}

func TestHalfOpenSuccessReturnsToAvailable(t *testing.T) {
	s, rec := newRecorded()
	s.Report(t0, testPolicy, Result{Outcome: Overloaded, Reason: "529"})
	end := t0.Add(testPolicy.CooldownMin)
	halfOpen(t, s, end, Result{Outcome: Success})
	wantStatus(t, s, Available)
	if !s.CooldownUntil().IsZero() {
		t.Errorf("CooldownUntil = %s when available, want zero", s.CooldownUntil())
	}
	for range 3 {
		if a := s.Admit(end); a != Admitted {
			t.Fatalf("Admit after recovery = %v, want Admitted", a)
		}
	}
	ts := rec.transitions()
	if last := ts[len(ts)-1]; last.From != CoolingDown || last.To != Available || last.Reason == "" {
		t.Errorf("last transition %+v, want cooling-down to available with a reason", last)
	}
}

func TestHalfOpenFailureCoolsDownLonger(t *testing.T) {
	for _, o := range []Outcome{Failure, Overloaded} {
		s := NewState(nil)
		s.Report(t0, testPolicy, Result{Outcome: Overloaded})
		end := t0.Add(testPolicy.CooldownMin)
		halfOpen(t, s, end, Result{Outcome: o, Reason: "still broken"})
		// One failure, though the threshold is 3: a half-open request decides.
		wantCooldown(t, s, end.Add(2*testPolicy.CooldownMin))
		if s.Reason() != "still broken" {
			t.Errorf("%v: reason %q", o, s.Reason())
		}
		if a := s.Admit(end.Add(2 * testPolicy.CooldownMin)); a != HalfOpen {
			t.Errorf("%v: Admit at the end of the second cool-down = %v, want HalfOpen (slot freed)", o, a)
		}
	}
}

// TestStragglers: results of requests admitted before a cool-down began
// neither end it nor escalate it; a later Retry-After pushes its end out.
func TestStragglers(t *testing.T) {
	end := t0.Add(testPolicy.CooldownMin)
	tests := []struct {
		name      string
		straggler Result
		wantUntil time.Time
	}{
		{"success", Result{Outcome: Success}, end},
		{"failure", Result{Outcome: Failure}, end},
		{"overloaded", Result{Outcome: Overloaded}, end},
		{"earlier retry-after", Result{Outcome: Overloaded, RetryAfter: time.Second}, end},
		{"later retry-after", Result{Outcome: Overloaded, RetryAfter: time.Minute}, t0.Add(time.Second + time.Minute)},
		{"later retry-after on failure", Result{Outcome: Failure, RetryAfter: time.Minute}, t0.Add(time.Second + time.Minute)},
		{"success with retry-after", Result{Outcome: Success, RetryAfter: time.Minute}, end},
	}
	for _, tt := range tests {
		for _, adm := range []Admission{Admitted, Denied} { // Denied: a report that says nothing of its admission
			t.Run(tt.name+"/"+admissionName(adm), func(t *testing.T) {
				s, rec := newRecorded()
				s.Report(t0, testPolicy, Result{Outcome: Overloaded, Reason: "529"})
				r := tt.straggler
				r.Admission = adm
				for range 10 {
					s.Report(t0.Add(time.Second), testPolicy, r)
				}
				wantCooldown(t, s, tt.wantUntil)
				if n := len(rec.transitions()); n != 1 {
					t.Errorf("%d transitions, want 1", n)
				}
				// Not escalated: the failed half-open request gets the
				// second back-off step, as if no straggler had come.
				halfOpen(t, s, tt.wantUntil, Result{Outcome: Failure})
				wantCooldown(t, s, tt.wantUntil.Add(2*testPolicy.CooldownMin))
			})
		}
	}
}

func admissionName(a Admission) string {
	return map[Admission]string{Denied: "denied", Admitted: "admitted", HalfOpen: "half-open"}[a]
}

func TestProbeIsDecisive(t *testing.T) {
	t.Run("success ends a cool-down early", func(t *testing.T) {
		s := NewState(nil)
		s.Report(t0, testPolicy, Result{Outcome: Overloaded})
		s.Report(t0.Add(time.Second), testPolicy, Result{Outcome: Success, Probe: true})
		wantStatus(t, s, Available)
	})
	t.Run("failure escalates a cool-down", func(t *testing.T) {
		s := NewState(nil)
		s.Report(t0, testPolicy, Result{Outcome: Overloaded})
		s.Report(t0.Add(time.Second), testPolicy, Result{Outcome: Failure, Probe: true})
		wantCooldown(t, s, t0.Add(time.Second+2*testPolicy.CooldownMin))
	})
	t.Run("failures count toward unhealthy_after", func(t *testing.T) {
		s := NewState(nil)
		for range testPolicy.UnhealthyAfter - 1 {
			s.Report(t0, testPolicy, Result{Outcome: Failure, Probe: true})
		}
		wantStatus(t, s, Unknown)
		s.Report(t0, testPolicy, Result{Outcome: Failure, Probe: true})
		wantCooldown(t, s, t0.Add(testPolicy.CooldownMin))
	})
}

func TestAuthFailed(t *testing.T) {
	s, rec := newRecorded()
	s.Report(t0, testPolicy, ok())
	s.Report(t0, testPolicy, Result{Outcome: Unauthorized, Admission: Admitted, Reason: "401 invalid x-api-key"})
	wantStatus(t, s, AuthFailed)
	if s.Reason() != "401 invalid x-api-key" {
		t.Errorf("reason %q", s.Reason())
	}

	// Traffic results, even successes of requests admitted before, change nothing.
	for _, o := range []Outcome{Success, Failure, Overloaded, Unauthorized} {
		for range 5 {
			s.Report(t0, testPolicy, Result{Outcome: o, Admission: Admitted})
		}
		wantStatus(t, s, AuthFailed)
		if s.Eligible(t0.Add(time.Hour)) || s.Admit(t0.Add(time.Hour)) != Denied {
			t.Fatal("auth-failed endpoint takes traffic")
		}
	}
	if n := len(rec.transitions()); n != 2 {
		t.Errorf("%d transitions, want 2: %+v", n, rec.transitions())
	}

	// A failed probe of the key leaves it failed.
	s.Report(t0, testPolicy, Result{Outcome: Unauthorized, Probe: true})
	wantStatus(t, s, AuthFailed)

	// A successful check clears it.
	s.Report(t0, testPolicy, Result{Outcome: Success, Probe: true})
	wantStatus(t, s, Available)

	// So does a reload, and a reload of a healthy endpoint changes nothing.
	s.Report(t0, testPolicy, Result{Outcome: Unauthorized, Reason: "403"})
	s.ResetAuth("config reloaded")
	wantStatus(t, s, Unknown)
	if s.Reason() != "config reloaded" {
		t.Errorf("reason %q after ResetAuth", s.Reason())
	}
	s.Report(t0, testPolicy, ok())
	s.ResetAuth("config reloaded")
	wantStatus(t, s, Available)
}

func TestUnauthorizedFromAnyTrafficState(t *testing.T) {
	for _, setup := range []Result{ok(), {Outcome: Overloaded}, fail("x")} {
		s := NewState(nil)
		s.Report(t0, testPolicy, setup)
		s.Report(t0, testPolicy, Result{Outcome: Unauthorized, Admission: Admitted})
		wantStatus(t, s, AuthFailed)
	}
}

func TestDisabledIgnoresTraffic(t *testing.T) {
	s, rec := newRecorded()
	s.Report(t0, testPolicy, fail("a"))
	s.Report(t0, testPolicy, fail("b"))
	s.SetDisabled(true, "disabled by operator")
	s.SetDisabled(true, "again") // no second transition
	wantStatus(t, s, Disabled)
	for _, r := range []Result{
		ok(), fail("c"), {Outcome: Overloaded, RetryAfter: time.Hour}, {Outcome: Unauthorized},
		{Outcome: Success, Probe: true}, {Outcome: Failure, Admission: HalfOpen},
	} {
		s.Report(t0, testPolicy, r)
		wantStatus(t, s, Disabled)
		if s.Eligible(t0) || s.Admit(t0) != Denied {
			t.Fatal("disabled endpoint takes traffic")
		}
	}
	s.ResetAuth("config reloaded")
	wantStatus(t, s, Disabled)

	s.SetDisabled(false, "enabled by operator")
	wantStatus(t, s, Unknown)
	s.SetDisabled(false, "again")
	// The failures before it was disabled are forgotten.
	s.Report(t0, testPolicy, fail("d"))
	s.Report(t0, testPolicy, fail("e"))
	wantStatus(t, s, Unknown)

	want := []Transition{
		{From: Unknown, To: Disabled, Reason: "disabled by operator"},
		{From: Disabled, To: Unknown, Reason: "enabled by operator"},
	}
	if got := rec.transitions(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("transitions %+v, want %+v", got, want)
	}
}

func TestDisableDuringCooldown(t *testing.T) {
	s := NewState(nil)
	s.Report(t0, testPolicy, Result{Outcome: Overloaded})
	s.SetDisabled(true, "operator")
	if !s.CooldownUntil().IsZero() {
		t.Error("a disabled endpoint reports a cool-down")
	}
	if s.Eligible(t0.Add(time.Hour)) {
		t.Error("disabled endpoint eligible after its old cool-down ran out")
	}
	s.SetDisabled(false, "operator")
	if a := s.Admit(t0); a != Admitted {
		t.Errorf("Admit after enable = %v, want Admitted", a)
	}
}

func TestTransitions(t *testing.T) {
	s, rec := newRecorded()
	s.Report(t0, testPolicy, ok())
	s.Report(t0, testPolicy, Result{Outcome: Overloaded, Reason: "429 rate limited", RetryAfter: 30 * time.Second})
	halfOpen(t, s, t0.Add(30*time.Second), Result{Outcome: Success})
	s.Report(t0, testPolicy, Result{Outcome: Unauthorized, Reason: "401"})
	s.ResetAuth("config reloaded")
	s.SetDisabled(true, "operator")
	s.SetDisabled(false, "operator")

	want := []Transition{
		{From: Unknown, To: Available, Reason: "request succeeded"},
		{From: Available, To: CoolingDown, Reason: "429 rate limited", Until: t0.Add(30 * time.Second)},
		{From: CoolingDown, To: Available, Reason: "request succeeded"},
		{From: Available, To: AuthFailed, Reason: "401"},
		{From: AuthFailed, To: Unknown, Reason: "config reloaded"},
		{From: Unknown, To: Disabled, Reason: "operator"},
		{From: Disabled, To: Unknown, Reason: "operator"},
	}
	got := rec.transitions()
	if len(got) != len(want) {
		t.Fatalf("got %d transitions %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i].From != want[i].From || got[i].To != want[i].To || got[i].Reason != want[i].Reason || !got[i].Until.Equal(want[i].Until) {
			t.Errorf("transition %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestConcurrentReports drives one state from many goroutines, as the proxy
// and the health checker do, for the race detector to watch.
func TestConcurrentReports(t *testing.T) {
	s, _ := newRecorded()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				now := t0.Add(time.Duration(i) * time.Second)
				a := s.Admit(now)
				if a == Denied {
					continue
				}
				outcome := Outcome((g + i) % 3)
				if i%50 == 0 {
					s.Release(a)
					continue
				}
				s.Report(now, testPolicy, Result{Outcome: outcome, Admission: a})
				_ = s.Eligible(now)
				_ = s.CooldownUntil()
				_ = s.Reason()
			}
		})
	}
	wg.Wait()
	if st := s.Status(); st != Available && st != CoolingDown && st != Unknown {
		t.Errorf("status %s after traffic that never said unauthorized", st)
	}
}
