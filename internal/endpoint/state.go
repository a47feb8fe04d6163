package endpoint

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
)

// Status is where an endpoint stands in its health state machine.
type Status uint32

// The endpoint states. Unknown and Available take traffic; CoolingDown takes
// one half-open request once its cool-down has run out, unless health checks
// took it out; AuthFailed and Disabled take none.
const (
	Unknown Status = iota
	Available
	CoolingDown
	AuthFailed
	Disabled
)

var statusNames = [...]string{"unknown", "available", "cooling-down", "auth-failed", "disabled"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "invalid"
}

// Outcome classifies how one attempt on an endpoint ended, from the
// endpoint's point of view.
type Outcome int

// The outcomes the proxy (passive) and the health checker (active) report.
const (
	// Success: the endpoint answered properly, whatever the status code
	// meant for the client (a 400 is the client's fault, not the endpoint's).
	Success Outcome = iota
	// Failure: a connect error, a timeout, a 5xx or a broken stream. Enough
	// of them in a row start a cool-down.
	Failure
	// Overloaded: a 429 or 529. The endpoint cools down at once.
	Overloaded
	// Unauthorized: a 401 or 403 to qccd's own key. The endpoint leaves
	// rotation until enough successful checks or a reload.
	Unauthorized
)

// Policy holds the state machine's thresholds and the scoring knobs; it
// comes from the cluster config (see PolicyFor).
type Policy struct {
	FailureThreshold int           // consecutive failures of real requests before a cool-down
	CooldownMin      time.Duration // first cool-down without Retry-After
	CooldownMax      time.Duration // cap of the exponential back-off

	// HealthyAfter is how many decisive successes in a row (health checks,
	// or half-open requests) bring a cooling-down or auth-failed endpoint
	// back; 0 means 1.
	HealthyAfter int
	// UnhealthyAfter is how many failed health checks in a row take a
	// usable endpoint out; 0 means 1.
	UnhealthyAfter int
	// SlowStart is how long a recovered endpoint takes to ramp up to its
	// full weight; 0 means at once.
	SlowStart time.Duration
	// RatelimitFloor is the fraction of a rate limit below which new
	// requests go to other endpoints until the limit resets; 0 turns the
	// steering off.
	RatelimitFloor float64
}

// PolicyFor returns the policy of cluster c's endpoints.
func PolicyFor(c config.Cluster) Policy {
	return Policy{
		FailureThreshold: c.FailureThreshold,
		CooldownMin:      c.CooldownMin,
		CooldownMax:      c.CooldownMax,
		HealthyAfter:     c.Health.HealthyAfter,
		UnhealthyAfter:   c.Health.UnhealthyAfter,
		SlowStart:        c.Health.SlowStart,
		RatelimitFloor:   c.Health.RatelimitFloor,
	}
}

// Transition describes one state change, for the log line and later for metrics.
type Transition struct {
	From, To Status
	Reason   string
	Until    time.Time // end of a cool-down, zero otherwise
}

// State is one endpoint's health: a single state machine fed by real
// traffic and by active probes alike. It outlives a config reload as long as
// the endpoint's identity is unchanged, so an endpoint keeps its hard-won
// standing across edits of unrelated settings.
//
// Reads on the request path are lock-free; changes take the mutex.
type State struct {
	status   atomic.Uint32
	until    atomic.Int64 // unix nanos when a cool-down ends
	halfOpen atomic.Bool  // a half-open request is in flight
	// held marks a cool-down that health checks started: the endpoint
	// looked fine to real requests (a 200 with nothing in it does), so
	// only health checks may bring it back, never a half-open request.
	held atomic.Bool

	inflight atomic.Int64  // requests on this endpoint now
	ttfb     atomic.Uint64 // EWMA of time to first byte, float64 bits of nanoseconds; 0 = no sample yet

	served     atomic.Int64  // unix nanos of the last real request that showed the endpoint works
	steerUntil atomic.Int64  // unix nanos until which a rate limit is below the floor
	factor     atomic.Uint32 // effective weight in thousandths of the configured one, see score.go

	mu          sync.Mutex
	consecutive int // consecutive failures of real requests
	probeFails  int // consecutive failed health checks
	recovering  int // consecutive decisive successes while out of rotation
	cooldowns   int // consecutive cool-downs, drives the back-off
	reason      string
	recoveredAt time.Time // start of the slow-start ramp; zero when none
	lastCheck   time.Time // last health check
	lastErr     string    // last failure's reason, secret-free
	lastErrAt   time.Time
	window      window // recent outcomes, for the success rate
	onChange    func(Transition)
}

// NewState returns the state of a fresh endpoint: unknown, and usable.
// onChange, when not nil, is called (under the state's lock, so keep it
// short) on every state change and on every new cool-down.
func NewState(onChange func(Transition)) *State {
	s := &State{onChange: onChange}
	s.factor.Store(fullFactor)
	return s
}

// Status returns the current state.
func (s *State) Status() Status { return Status(s.status.Load()) }

// Reason returns why the endpoint is in its current state.
func (s *State) Reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// CooldownUntil returns when the current cool-down ends; zero when not
// cooling down. A cool-down that health checks started lasts at least until
// then and ends only when enough checks pass.
func (s *State) CooldownUntil() time.Time {
	if s.Status() != CoolingDown {
		return time.Time{}
	}
	return time.Unix(0, s.until.Load())
}

// Held reports whether health checks took the endpoint out, so that only
// health checks can bring it back.
func (s *State) Held() bool { return s.Status() == CoolingDown && s.held.Load() }

// LastCheck returns when the last health check finished; zero before any.
func (s *State) LastCheck() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastCheck
}

// LastError returns the reason of the last failed request or health check
// and when it happened; empty before any. It never holds a secret: reasons
// are built from status codes, error types and redacted messages.
func (s *State) LastError() (reason string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr, s.lastErrAt
}

// Served records that a real request just showed the endpoint works: a
// complete reply with generated output, not merely a 200. The health
// scheduler does not spend a check on an endpoint that served one within
// its interval.
func (s *State) Served(now time.Time) { s.served.Store(now.UnixNano()) }

// LastServed returns when the endpoint last served a real request that
// showed it works; zero before any.
func (s *State) LastServed() time.Time {
	if n := s.served.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Eligible reports, without side effects, whether the endpoint could take a
// request now. Balancers filter with it, then call Admit on their choice.
func (s *State) Eligible(now time.Time) bool {
	switch Status(s.status.Load()) {
	case Unknown, Available:
		return true
	case CoolingDown:
		return now.UnixNano() >= s.until.Load() && !s.halfOpen.Load() && !s.held.Load()
	default:
		return false
	}
}

// Admission is Admit's answer.
type Admission int

// The admissions.
const (
	Denied   Admission = iota
	Admitted           // an ordinary request
	HalfOpen           // the one request that tests a cooled-down endpoint
)

// Admit claims the right to send a request. For a cooling-down endpoint
// whose time is up it claims the single half-open slot, so that only one
// request tests the endpoint before it fully returns.
func (s *State) Admit(now time.Time) Admission {
	switch Status(s.status.Load()) {
	case Unknown, Available:
		return Admitted
	case CoolingDown:
		if now.UnixNano() >= s.until.Load() && !s.held.Load() && s.halfOpen.CompareAndSwap(false, true) {
			return HalfOpen
		}
	}
	return Denied
}

// Release gives back a half-open slot when the request ended without
// saying anything about the endpoint, e.g. the client left.
func (s *State) Release(a Admission) {
	if a == HalfOpen {
		s.halfOpen.Store(false)
	}
}

// Result is what one request or probe learned about the endpoint.
type Result struct {
	Outcome    Outcome
	RetryAfter time.Duration // how long the upstream asked qccd to stay away, if it said
	Reason     string        // short, secret-free: "529 overloaded", "connect: connection refused"
	Admission  Admission     // how the request was admitted; HalfOpen results decide a cool-down
	Probe      bool          // an active health check: decisive like a half-open request
	Status     int           // the upstream HTTP status, 0 for a transport error
}

// Report feeds one result into the state machine.
//
// Real requests and health checks feed the same machine but weigh
// differently. Failures of real requests count toward FailureThreshold,
// failed checks toward UnhealthyAfter; a cool-down that failed checks start
// is held: the endpoint passed for healthy with real requests (a 200 with
// nothing in it), so only checks can end it. Leaving a cool-down or an auth
// failure takes HealthyAfter decisive successes in a row, where a half-open
// request counts as one check. A failed check never turns an auth failure
// into a cool-down, which would forget that the key was refused.
func (s *State) Report(now time.Time, p Policy, r Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Admission == HalfOpen {
		defer s.halfOpen.Store(false)
	}

	from := s.Status()
	if from == Disabled {
		return // an operator's decision outranks traffic
	}
	s.window.add(now, r.Outcome == Success)
	if r.Probe {
		s.lastCheck = now
	}
	if r.Outcome != Success {
		s.lastErr, s.lastErrAt = r.Reason, now
	}

	decisive := r.Admission == HalfOpen || r.Probe
	switch {
	case r.Outcome == Unauthorized:
		s.consecutive, s.probeFails, s.recovering = 0, 0, 0
		if from != AuthFailed {
			s.set(Transition{From: from, To: AuthFailed, Reason: r.Reason})
		}
	case from == AuthFailed:
		// Only a check of the key (or a reload) clears it; a check that
		// fails for another reason says nothing about the key.
		switch {
		case r.Probe && r.Outcome == Success:
			s.recoverStep(now, from, p, r)
		case r.Probe:
			s.recovering = 0
		}
	case from == CoolingDown && !decisive:
		// A straggler admitted before the cool-down began. It may push the
		// end out when the upstream named a later time, but it neither ends
		// the cool-down nor escalates the back-off: a burst of concurrent
		// 529s is one event, not many.
		if r.Outcome != Success && r.RetryAfter > 0 {
			if until := now.Add(r.RetryAfter); until.UnixNano() > s.until.Load() {
				s.until.Store(until.UnixNano())
			}
		}
	case from == CoolingDown:
		if r.Outcome == Success {
			s.recoverStep(now, from, p, r)
			return
		}
		// A failed half-open request or check goes straight back to
		// cooling down, for longer. A held cool-down stays held, and a
		// failed check holds one that traffic started.
		s.recovering = 0
		hold := s.held.Load() || (r.Probe && r.Outcome == Failure)
		if r.Probe {
			r.Reason = "health check failed: " + r.Reason
		}
		s.coolDown(now, from, p, r, hold)
	case r.Outcome == Success:
		s.consecutive, s.cooldowns = 0, 0
		if r.Probe {
			// Only a check clears failed checks: real requests succeed on
			// an endpoint that answers 200 with nothing in it.
			s.probeFails = 0
		}
		if from != Available {
			reason := "request succeeded"
			if r.Probe {
				reason = "health check passed"
			}
			s.set(Transition{From: from, To: Available, Reason: reason})
		}
	case r.Outcome == Overloaded:
		s.coolDown(now, from, p, r, false)
	case r.Probe: // a failed check
		s.probeFails++
		if s.probeFails >= max(p.UnhealthyAfter, 1) {
			r.Reason = strconv.Itoa(s.probeFails) + " health checks failed: " + r.Reason
			s.coolDown(now, from, p, r, true)
		}
	default: // a failed real request
		s.consecutive++
		if s.consecutive >= max(p.FailureThreshold, 1) {
			s.coolDown(now, from, p, r, false)
		}
	}
}

// recoverStep counts one decisive success of an endpoint out of rotation
// and brings it back when there have been HealthyAfter in a row. On its
// way back the endpoint starts its slow-start ramp.
func (s *State) recoverStep(now time.Time, from Status, p Policy, r Result) {
	s.recovering++
	need := max(p.HealthyAfter, 1)
	if s.recovering < need {
		s.reason = "recovering: " + strconv.Itoa(s.recovering) + " of " + strconv.Itoa(need) + " successes"
		return
	}
	var what string
	switch {
	case need > 1 && r.Probe:
		what = strconv.Itoa(need) + " checks passed"
	case need > 1:
		what = strconv.Itoa(need) + " successes in a row"
	case r.Probe:
		what = "health check passed"
	default:
		what = "request succeeded"
	}
	s.recovering, s.consecutive, s.probeFails, s.cooldowns = 0, 0, 0, 0
	if p.SlowStart > 0 {
		s.recoveredAt = now
		s.factor.Store(minFactor)
	}
	s.set(Transition{From: from, To: Available, Reason: what})
}

// coolDown starts a cool-down: Retry-After when the upstream gave one,
// otherwise exponential back-off from CooldownMin to CooldownMax. A held
// cool-down ends only through health checks.
func (s *State) coolDown(now time.Time, from Status, p Policy, r Result, hold bool) {
	d := r.RetryAfter
	if d <= 0 {
		d = backoff(p, s.cooldowns)
	}
	s.cooldowns++
	s.consecutive, s.probeFails, s.recovering = 0, 0, 0
	until := now.Add(d)
	s.until.Store(until.UnixNano())
	s.held.Store(hold)
	s.set(Transition{From: from, To: CoolingDown, Reason: r.Reason, Until: until})
}

// backoff is the n-th cool-down without Retry-After: CooldownMin doubled n
// times, capped at CooldownMax. It doubles step by step because a shift by n
// can overflow into a short, even negative, cool-down for a long CooldownMin.
func backoff(p Policy, n int) time.Duration {
	d := p.CooldownMin
	if d <= 0 {
		return max(p.CooldownMax, 0)
	}
	for ; n > 0 && d < p.CooldownMax; n-- {
		if d > p.CooldownMax/2 {
			return p.CooldownMax
		}
		d *= 2
	}
	return min(d, p.CooldownMax)
}

// ReleaseHold lets real requests test a cool-down that health checks
// started, as any other: half-open once it has run out. The health
// scheduler calls it for endpoints it no longer checks (a reload turned
// checks off), which would otherwise stay out for good.
func (s *State) ReleaseHold() {
	if s.held.Load() {
		s.mu.Lock()
		s.held.Store(false)
		s.mu.Unlock()
	}
}

// SetDisabled takes the endpoint out of rotation (true) or puts it back as
// unknown (false); the admin API's disable and enable.
func (s *State) SetDisabled(disabled bool, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := s.Status()
	switch {
	case disabled && from != Disabled:
		s.set(Transition{From: from, To: Disabled, Reason: reason})
	case !disabled && from == Disabled:
		s.consecutive, s.probeFails, s.recovering, s.cooldowns = 0, 0, 0, 0
		s.set(Transition{From: from, To: Unknown, Reason: reason})
	}
}

// ResetAuth returns an auth-failed endpoint to unknown. A reload does this:
// the operator may have fixed what the key refers to.
func (s *State) ResetAuth(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if from := s.Status(); from == AuthFailed {
		s.recovering = 0
		s.set(Transition{From: from, To: Unknown, Reason: reason})
	}
}

func (s *State) set(t Transition) {
	s.reason = t.Reason
	if t.To != CoolingDown {
		s.held.Store(false)
	}
	s.status.Store(uint32(t.To))
	// A failed half-open request starts a new, longer cool-down without a
	// change of state; it is reported all the same, or the log and the
	// metrics would never show the back-off growing.
	if s.onChange != nil && (t.From != t.To || t.To == CoolingDown) {
		s.onChange(t)
	}
}
