package health

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
)

// entry is one endpoint's schedule. It is keyed by the endpoint's identity,
// like its state, so it survives reloads that keep the endpoint.
type entry struct {
	next    time.Time // when the next check is due
	running bool      // a check is in flight: at most one per endpoint
	round   uint64    // the last round whose snapshot had the endpoint
	served  time.Time // the real success the schedule last made room for
	skipped bool      // the reason it is never checked has been logged
}

// due is an endpoint whose check is due, with what orders it.
type due struct {
	ep    *endpoint.Endpoint
	e     *entry
	first bool // out of rotation or unknown: checked before available ones
}

// plan starts the checks that are due in snap and returns when the next
// one will be; zero when none is scheduled. Endpoints the snapshot no
// longer has are forgotten.
func (s *Scheduler) plan(ctx context.Context, snap *cluster.Snapshot, now time.Time, checks *sync.WaitGroup) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.round++
	var wake time.Time
	var queue []due
	for _, c := range snap.Clusters {
		h := c.Config.Health
		running := 0
		queue = queue[:0]
		for _, ep := range c.Endpoints {
			e := s.entry(ep, now)
			e.round = s.round
			if e.running {
				running++
				continue
			}
			if h.Kind == config.HealthNone || !Checkable(ep) {
				// Nothing will check it, so nothing may hold it out
				// waiting for a check (a reload may have turned them off).
				ep.State.ReleaseHold()
				s.logSkip(ep, e, h)
				continue
			}
			first, ok := reschedule(e, ep, h, now)
			if !ok {
				wake = earliest(wake, e.next)
				continue
			}
			queue = append(queue, due{ep, e, first})
		}
		// Out-of-rotation and unknown endpoints first, then the longest
		// overdue.
		slices.SortStableFunc(queue, func(a, b due) int {
			if a.first != b.first {
				if a.first {
					return -1
				}
				return 1
			}
			return a.e.next.Compare(b.e.next)
		})
		for _, d := range queue {
			if running >= max(h.MaxConcurrency, 1) {
				break // a finished check wakes the scheduler for the rest
			}
			running++
			s.start(ctx, h, h.Kind, d.ep, d.e, checks)
		}
	}
	for id, e := range s.entries {
		if e.round != s.round && !e.running {
			delete(s.entries, id)
		}
	}
	return wake
}

// reschedule moves e.next to when ep's next check is worth its cost and
// reports whether it is due now, and whether it goes first.
func reschedule(e *entry, ep *endpoint.Endpoint, h config.Health, now time.Time) (first, isDue bool) {
	st := ep.State
	switch st.Status() {
	case endpoint.Disabled:
		// An operator's decision; check it when it comes back.
		e.next = now.Add(jittered(h.Interval))
		return false, false
	case endpoint.CoolingDown:
		// Before the cool-down ends a check would only tell what the
		// upstream already said.
		e.next = later(e.next, st.CooldownUntil())
		first = true
	case endpoint.AuthFailed, endpoint.Unknown:
		first = true
	case endpoint.Available:
		// Its own traffic is the signal while it lasts.
		if served := st.LastServed(); served.After(e.served) {
			e.served = served
			e.next = later(e.next, served.Add(jittered(h.Interval)))
		}
	}
	return first, !e.next.After(now)
}

// start runs one check of ep in the background. The caller holds s.mu.
func (s *Scheduler) start(ctx context.Context, h config.Health, kind config.HealthKind, ep *endpoint.Endpoint, e *entry, checks *sync.WaitGroup) {
	e.running = true
	checks.Go(func() {
		c := s.check(ctx, h, kind, ep)
		s.finish(ep, e, h, c)
	})
}

// finish feeds a check's result into the endpoint's state, schedules the
// next check and wakes the scheduler, whose cluster may have checks
// waiting for the slot.
func (s *Scheduler) finish(ep *endpoint.Endpoint, e *entry, h config.Health, c Check) {
	if !c.Canceled {
		ep.State.Report(c.At.Add(c.Duration), ep.Policy, c.result())
		s.log(c)
		if s.opts.OnCheck != nil {
			s.opts.OnCheck(c)
		}
	}
	s.mu.Lock()
	e.running = false
	e.next = time.Now().Add(jittered(h.Interval))
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// entry returns ep's schedule, creating one that is due now. The caller
// holds s.mu.
func (s *Scheduler) entry(ep *endpoint.Endpoint, now time.Time) *entry {
	e, ok := s.entries[ep.ID]
	if !ok {
		e = &entry{next: now}
		s.entries[ep.ID] = e
	}
	return e
}

// logSkip says once per endpoint why a cluster that has checks does not
// check it.
func (s *Scheduler) logSkip(ep *endpoint.Endpoint, e *entry, h config.Health) {
	if e.skipped || h.Kind == config.HealthNone {
		return
	}
	e.skipped = true
	s.opts.Log.Info().Str("cluster", ep.Cluster).Str("endpoint", ep.Name).
		Msg("health checks skip this endpoint: with auth = passthrough it has no key of its own, so its traffic is the only signal")
}

// jittered spreads d by ±10 %, so that endpoints configured together do
// not all get checked in the same second.
func jittered(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d - d/10 + rand.N(d/5+1)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// earliest is the earlier of two times, where zero means none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
