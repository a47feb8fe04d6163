// Package health runs qccd's active health checks and keeps the endpoints'
// scores fresh.
//
// The Scheduler is one supervised component for all clusters. Each round it
// reads the current runtime snapshot, so that endpoints a reload adds or
// removes are checked or forgotten by the next round; it recomputes every
// cluster's effective weights about once a second; and it starts the checks
// that are due. A check's result goes into the endpoint's one state machine
// (endpoint.State) exactly as a real request's does, marked as a probe.
//
// Checks cost tokens, so the scheduler spends them where they tell
// something: an available endpoint that served a real message within the
// interval is not checked, since its traffic is the signal; endpoints that
// are out of rotation or unknown go first when a cluster's max_concurrency
// leaves room for only some.
package health

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/endpoint"
)

// scoreEvery is how often effective weights are recomputed: often enough
// that a slow start ramps smoothly and a slowed-down endpoint loses traffic
// within seconds, rarely enough to cost nothing.
const scoreEvery = time.Second

// Options configures a Scheduler.
type Options struct {
	// Snapshot returns the current runtime snapshot; it is read every round.
	Snapshot func() *cluster.Snapshot
	Log      zerolog.Logger
	// OnCheck, when set, is told of every finished check, e.g. for the
	// qccd_health_checks_total metric. It runs on the check's goroutine and
	// must not block.
	OnCheck func(Check)
}

// Scheduler runs the health checks of every cluster of the current
// snapshot. Create it with New, run it with Run; Probe checks one endpoint
// on demand, whether or not Run is running.
type Scheduler struct {
	opts Options
	wake chan struct{} // a check finished: its cluster may start the next

	mu      sync.Mutex
	entries map[string]*entry // by endpoint identity
	round   uint64            // numbers rounds, to forget endpoints a reload removed
}

// New returns a Scheduler.
func New(opts Options) *Scheduler {
	return &Scheduler{opts: opts, wake: make(chan struct{}, 1), entries: map[string]*entry{}}
}

// Run checks endpoints until ctx ends, then waits for the checks in flight,
// which ctx cancels, and returns nil. The first round starts at once.
func (s *Scheduler) Run(ctx context.Context) error {
	var checks sync.WaitGroup
	defer checks.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var nextScore time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-s.wake:
		}
		now := time.Now()
		snap := s.opts.Snapshot()
		if !now.Before(nextScore) {
			for _, c := range snap.Clusters {
				endpoint.Rescore(now, c.Endpoints)
			}
			nextScore = now.Add(scoreEvery)
		}
		wake := s.plan(ctx, snap, now, &checks)
		if wake.IsZero() || wake.After(nextScore) {
			wake = nextScore
		}
		timer.Reset(wake.Sub(now))
	}
}
