package endpoint

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// checkPolicy is a cluster with active health checks: three failed checks
// take an endpoint out, two passed ones bring it back, with a slow start.
var checkPolicy = Policy{
	FailureThreshold: 3, CooldownMin: 5 * time.Second, CooldownMax: time.Minute,
	HealthyAfter: 2, UnhealthyAfter: 3, SlowStart: 30 * time.Second,
}

func probeOK() Result { return Result{Outcome: Success, Probe: true, Status: 200} }

func probeFail(reason string) Result {
	return Result{Outcome: Failure, Probe: true, Status: 200, Reason: reason}
}

// TestFakeHealthyEndpointIsHeld pins the regression "fake-healthy 200": an
// endpoint whose replies are 200s with nothing in them succeeds for every
// real request, so only health checks see it is broken. After
// unhealthy_after failed checks it takes no real request, however many
// real successes come in between or straggle in afterwards and however
// long the cool-down has run; healthy_after passed checks bring it back.
func TestFakeHealthyEndpointIsHeld(t *testing.T) {
	s, rec := newRecorded()
	now := t0
	for i := range checkPolicy.UnhealthyAfter {
		wantStatus(t, s, []Status{Unknown, Available, Available}[i])
		s.Report(now, checkPolicy, ok()) // a real 200, empty
		s.Report(now, checkPolicy, probeFail("invalid response: empty content"))
		now = now.Add(time.Minute)
	}
	wantStatus(t, s, CoolingDown)
	if !s.Held() {
		t.Fatal("a cool-down started by health checks is not held")
	}
	if got, want := s.Reason(), "3 health checks failed: invalid response: empty content"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	later := now.Add(time.Hour)
	for range 10 {
		s.Report(later, checkPolicy, ok()) // stragglers of requests admitted before
	}
	if s.Eligible(later) || s.Admit(later) != Denied {
		t.Fatal("a held endpoint takes real requests after its cool-down ran out")
	}

	// Fixed: the first passed check is not enough, the second is.
	s.Report(later, checkPolicy, probeOK())
	wantStatus(t, s, CoolingDown)
	if !strings.Contains(s.Reason(), "1 of 2") {
		t.Errorf("reason while recovering %q, want it to count the checks", s.Reason())
	}
	s.Report(later, checkPolicy, probeOK())
	wantStatus(t, s, Available)
	if s.Held() {
		t.Error("still held after recovery")
	}
	if f := s.Factor(); f != 0.1 {
		t.Errorf("factor right after recovery %.2f, want 0.1 (slow start)", f)
	}
	ts := rec.transitions()
	if last := ts[len(ts)-1]; last.From != CoolingDown || last.To != Available || last.Reason != "2 checks passed" {
		t.Errorf("last transition %+v", last)
	}
}

// TestRealSuccessDoesNotClearFailedChecks: the count of failed checks runs
// across real successes, or a busy fake-healthy endpoint would never leave.
func TestRealSuccessDoesNotClearFailedChecks(t *testing.T) {
	s := NewState(nil)
	s.Report(t0, checkPolicy, probeFail("x"))
	s.Report(t0, checkPolicy, ok())
	s.Report(t0, checkPolicy, probeFail("x"))
	s.Report(t0, checkPolicy, ok())
	s.Report(t0, checkPolicy, probeFail("x"))
	wantStatus(t, s, CoolingDown)
}

// TestHealthyAfter: leaving a cool-down takes healthy_after decisive
// successes in a row; half-open requests and checks both count, and any
// decisive failure starts the count again.
func TestHealthyAfter(t *testing.T) {
	tests := []struct {
		name  string
		steps string // h: half-open success, p: check passed, f: half-open failure, x: check failed
		want  Status
	}{
		{"one half-open", "h", CoolingDown},
		{"two half-open", "hh", Available},
		{"check then half-open", "ph", Available},
		{"half-open then check", "hp", Available},
		{"interrupted by a failure", "hfh", CoolingDown},
		{"interrupted by a failed check", "pxp", CoolingDown},
		{"interrupted, then enough", "hfhh", Available},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState(nil)
			s.Report(t0, checkPolicy, Result{Outcome: Overloaded, Reason: "529"})
			for _, step := range tt.steps {
				now := s.CooldownUntil()
				switch step {
				case 'h':
					halfOpenWith(t, s, now, checkPolicy, Result{Outcome: Success})
				case 'f':
					halfOpenWith(t, s, now, checkPolicy, Result{Outcome: Failure})
				case 'p':
					s.Report(now, checkPolicy, probeOK())
				case 'x':
					s.Report(now, checkPolicy, probeFail("x"))
				}
			}
			wantStatus(t, s, tt.want)
		})
	}
}

func halfOpenWith(t *testing.T, s *State, now time.Time, p Policy, r Result) {
	t.Helper()
	if a := s.Admit(now); a != HalfOpen {
		t.Fatalf("Admit at %s = %s, want half-open", now.Sub(t0), admissionName(a))
	}
	r.Admission = HalfOpen
	s.Report(now, p, r)
}

// TestAuthFailedSurvivesFailedChecks pins the gap where a check that failed
// or was rate limited turned an auth-failed endpoint into a cooling-down
// one, which half-open requests would then have retried with the refused
// key.
func TestAuthFailedSurvivesFailedChecks(t *testing.T) {
	for _, r := range []Result{
		probeFail("timeout"),
		{Outcome: Overloaded, Probe: true, Status: 529, Reason: "529 overloaded"},
		{Outcome: Overloaded, Probe: true, Status: 429, Reason: "429", RetryAfter: time.Second},
		{Outcome: Unauthorized, Probe: true, Status: 401, Reason: "401"},
	} {
		t.Run(r.Reason, func(t *testing.T) {
			s := NewState(nil)
			s.Report(t0, checkPolicy, Result{Outcome: Unauthorized, Status: 401, Reason: "401 authentication_error"})
			s.Report(t0, checkPolicy, probeOK())
			s.Report(t0, checkPolicy, r)
			wantStatus(t, s, AuthFailed)
			if s.Eligible(t0.Add(time.Hour)) {
				t.Fatal("auth-failed endpoint eligible")
			}
			// The failure broke the run: two more are needed.
			s.Report(t0, checkPolicy, probeOK())
			wantStatus(t, s, AuthFailed)
			s.Report(t0, checkPolicy, probeOK())
			wantStatus(t, s, Available)
		})
	}
}

// TestFlappingChecks: checks that alternate never change the state faster
// than the thresholds allow: an available endpoint needs unhealthy_after
// failed checks in a row to leave, an out one healthy_after passed ones to
// return.
func TestFlappingChecks(t *testing.T) {
	for _, pattern := range []string{"FS", "FFS", "SF", "SSF", "FFSFFS"} {
		t.Run(pattern, func(t *testing.T) {
			s, rec := newRecorded()
			s.Report(t0, checkPolicy, probeOK())
			now := t0
			for range 200 {
				for _, c := range pattern {
					now = now.Add(time.Minute)
					if c == 'S' {
						s.Report(now, checkPolicy, probeOK())
					} else {
						s.Report(now, checkPolicy, probeFail("flap"))
					}
				}
			}
			wantStatus(t, s, Available)
			if ts := rec.transitions(); len(ts) != 1 {
				t.Errorf("%d transitions, want only unknown to available: %+v", len(ts), ts[1:])
			}
		})
	}
	// Out of rotation, a check that passes between failures never
	// recovers it, and the cool-down keeps growing instead of resetting.
	s, rec := newRecorded()
	for range checkPolicy.UnhealthyAfter {
		s.Report(t0, checkPolicy, probeFail("down"))
	}
	now := t0
	for range 200 {
		now = s.CooldownUntil()
		s.Report(now, checkPolicy, probeOK())
		s.Report(now, checkPolicy, probeFail("down"))
	}
	wantStatus(t, s, CoolingDown)
	for _, tr := range rec.transitions() {
		if tr.To != CoolingDown {
			t.Fatalf("transition %+v while flapping out of rotation", tr)
		}
	}
	if d := s.CooldownUntil().Sub(now); d != checkPolicy.CooldownMax {
		t.Errorf("cool-down %s after 200 failed checks, want the cap %s", d, checkPolicy.CooldownMax)
	}
}

// TestOverloadedCheckIsNotHeld: a check answered 429 or 529 cools the
// endpoint like a real request would, and half-open requests may end it:
// the upstream said when to come back.
func TestOverloadedCheckIsNotHeld(t *testing.T) {
	s := NewState(nil)
	s.Report(t0, checkPolicy, Result{Outcome: Overloaded, Probe: true, Status: 429, RetryAfter: 20 * time.Second})
	wantCooldown(t, s, t0.Add(20*time.Second))
	if s.Held() {
		t.Fatal("held")
	}
	if a := s.Admit(t0.Add(20 * time.Second)); a != HalfOpen {
		t.Fatalf("Admit at the end = %s, want half-open", admissionName(a))
	}
}

// TestFailedCheckHoldsTrafficCooldown: a check that fails during a
// cool-down real traffic started holds it: the check saw something a
// half-open request might not.
func TestFailedCheckHoldsTrafficCooldown(t *testing.T) {
	s := NewState(nil)
	s.Report(t0, checkPolicy, Result{Outcome: Overloaded, Reason: "529"})
	s.Report(t0.Add(5*time.Second), checkPolicy, probeFail("invalid response"))
	if !s.Held() {
		t.Fatal("not held")
	}
	if got := s.Reason(); got != "health check failed: invalid response" {
		t.Errorf("reason %q", got)
	}
}

func TestReleaseHold(t *testing.T) {
	s := NewState(nil)
	for range checkPolicy.UnhealthyAfter {
		s.Report(t0, checkPolicy, probeFail("x"))
	}
	end := s.CooldownUntil()
	if s.Eligible(end) {
		t.Fatal("held endpoint eligible")
	}
	s.ReleaseHold()
	if a := s.Admit(end); a != HalfOpen {
		t.Fatalf("Admit after ReleaseHold = %s, want half-open", admissionName(a))
	}
}

func TestLastErrorAndCheck(t *testing.T) {
	s := NewState(nil)
	if r, at := s.LastError(); r != "" || !at.IsZero() || !s.LastCheck().IsZero() {
		t.Fatal("fresh state has a last error or check")
	}
	s.Report(t0, checkPolicy, fail("502 Bad Gateway"))
	s.Report(t0.Add(time.Second), checkPolicy, probeOK())
	if r, at := s.LastError(); r != "502 Bad Gateway" || !at.Equal(t0) {
		t.Errorf("LastError = %q, %s", r, at)
	}
	if got := s.LastCheck(); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("LastCheck = %s", got)
	}
	s.Served(t0.Add(2 * time.Second))
	if got := s.LastServed(); !got.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("LastServed = %s", got)
	}
}

// TestCheckTransitions lists the transitions checks cause, as the log
// shows them.
func TestCheckTransitions(t *testing.T) {
	s, rec := newRecorded()
	for range 3 {
		s.Report(t0, checkPolicy, probeFail("invalid response"))
	}
	s.Report(t0.Add(time.Minute), checkPolicy, probeOK())
	s.Report(t0.Add(2*time.Minute), checkPolicy, probeOK())
	s.Report(t0.Add(3*time.Minute), checkPolicy, Result{Outcome: Unauthorized, Probe: true, Reason: "401 authentication_error"})
	var got []string
	for _, tr := range rec.transitions() {
		got = append(got, fmt.Sprintf("%s -> %s: %s", tr.From, tr.To, tr.Reason))
	}
	want := []string{
		"unknown -> cooling-down: 3 health checks failed: invalid response",
		"cooling-down -> available: 2 checks passed",
		"available -> auth-failed: 401 authentication_error",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("transitions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
