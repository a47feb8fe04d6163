package endpoint

import (
	"sync"
	"sync/atomic"
	"time"
)

// Status is where an endpoint stands in its health state machine.
type Status uint32

// The endpoint states. Unknown and Available take traffic; CoolingDown takes
// one half-open request once its cool-down has run out; AuthFailed and
// Disabled take none.
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
	// rotation until a successful check or a reload.
	Unauthorized
)

// Policy holds the state machine's thresholds; it comes from the cluster config.
type Policy struct {
	FailureThreshold int           // consecutive failures before a cool-down
	CooldownMin      time.Duration // first cool-down without Retry-After
	CooldownMax      time.Duration // cap of the exponential back-off
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

	inflight atomic.Int64  // requests on this endpoint now
	ttfb     atomic.Uint64 // EWMA of time to first byte, float64 bits of nanoseconds; 0 = no sample yet

	mu          sync.Mutex
	consecutive int // consecutive failures
	cooldowns   int // consecutive cool-downs, drives the back-off
	reason      string
	onChange    func(Transition)
}

// NewState returns the state of a fresh endpoint: unknown, and usable.
// onChange, when not nil, is called (under the state's lock, so keep it
// short) on every state change and on every new cool-down.
func NewState(onChange func(Transition)) *State {
	return &State{onChange: onChange}
}

// Status returns the current state.
func (s *State) Status() Status { return Status(s.status.Load()) }

// Reason returns why the endpoint is in its current state.
func (s *State) Reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// CooldownUntil returns when the current cool-down ends; zero when not cooling down.
func (s *State) CooldownUntil() time.Time {
	if s.Status() != CoolingDown {
		return time.Time{}
	}
	return time.Unix(0, s.until.Load())
}

// Eligible reports, without side effects, whether the endpoint could take a
// request now. Balancers filter with it, then call Admit on their choice.
func (s *State) Eligible(now time.Time) bool {
	switch Status(s.status.Load()) {
	case Unknown, Available:
		return true
	case CoolingDown:
		return now.UnixNano() >= s.until.Load() && !s.halfOpen.Load()
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
		if now.UnixNano() >= s.until.Load() && s.halfOpen.CompareAndSwap(false, true) {
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
func (s *State) Report(now time.Time, p Policy, r Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Admission == HalfOpen {
		defer s.halfOpen.Store(false)
	}

	from := s.Status()
	decisive := r.Admission == HalfOpen || r.Probe
	switch {
	case from == Disabled:
		return // an operator's decision outranks traffic
	case r.Outcome == Unauthorized:
		s.consecutive = 0
		if from != AuthFailed {
			s.set(Transition{From: from, To: AuthFailed, Reason: r.Reason})
		}
	case from == AuthFailed && !r.Probe:
		return // only a check of the key or a reload clears it
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
	case r.Outcome == Success:
		s.consecutive, s.cooldowns = 0, 0
		if from != Available {
			s.set(Transition{From: from, To: Available, Reason: "request succeeded"})
		}
	case r.Outcome == Overloaded, from == CoolingDown:
		// A failed half-open request goes straight back to cooling down.
		s.coolDown(now, from, p, r)
	default: // Failure
		s.consecutive++
		if s.consecutive >= max(p.FailureThreshold, 1) {
			s.coolDown(now, from, p, r)
		}
	}
}

// coolDown starts a cool-down: Retry-After when the upstream gave one,
// otherwise exponential back-off from CooldownMin to CooldownMax.
func (s *State) coolDown(now time.Time, from Status, p Policy, r Result) {
	d := r.RetryAfter
	if d <= 0 {
		d = backoff(p, s.cooldowns)
	}
	s.cooldowns++
	s.consecutive = 0
	until := now.Add(d)
	s.until.Store(until.UnixNano())
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
		s.consecutive, s.cooldowns = 0, 0
		s.set(Transition{From: from, To: Unknown, Reason: reason})
	}
}

// ResetAuth returns an auth-failed endpoint to unknown. A reload does this:
// the operator may have fixed what the key refers to.
func (s *State) ResetAuth(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if from := s.Status(); from == AuthFailed {
		s.set(Transition{From: from, To: Unknown, Reason: reason})
	}
}

func (s *State) set(t Transition) {
	s.reason = t.Reason
	s.status.Store(uint32(t.To))
	// A failed half-open request starts a new, longer cool-down without a
	// change of state; it is reported all the same, or the log and the
	// metrics would never show the back-off growing.
	if s.onChange != nil && (t.From != t.To || t.To == CoolingDown) {
		s.onChange(t)
	}
}
