// Package balance chooses the endpoint for each attempt of a request.
//
// A Balancer narrows a cluster's endpoints to those that can take a request
// now and have not been tried for this one, keeps the best priority tier
// among them (its standbys only when it has nothing else), and lets the
// cluster's strategy pick within that tier. Each strategy lives in its own
// file and sees only that tier.
//
// An endpoint whose rate limit is below the cluster's floor is steered
// around: it counts only when no endpoint of any tier is above the floor,
// so its last few percent of quota go to requests nothing else can take.
package balance

import (
	"fmt"
	"sync"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
)

// Picker is a balancing strategy. Pick is called with at least one
// candidate, all eligible and all in the same priority tier, and returns one
// of them. It must be safe for concurrent use.
type Picker interface {
	Pick(candidates []*endpoint.Endpoint) *endpoint.Endpoint
}

// NewPicker returns the strategy s for a cluster of n endpoints.
func NewPicker(s config.Strategy, n int) (Picker, error) {
	switch s {
	case config.StrategyPriority:
		return priority{}, nil
	case config.StrategyWeighted:
		return newWeighted(n), nil
	case config.StrategyRoundRobin:
		return &roundRobin{}, nil
	case config.StrategyLeastInflight:
		return &leastInflight{}, nil
	case config.StrategyLatency:
		return &latency{}, nil
	}
	return nil, fmt.Errorf("unknown strategy %q", s)
}

// Balancer picks endpoints for one cluster in one snapshot.
type Balancer struct {
	endpoints []*endpoint.Endpoint
	picker    Picker
	scratch   sync.Pool // *[]*endpoint.Endpoint, so a pick does not allocate
}

// New returns a Balancer over endpoints using picker.
func New(endpoints []*endpoint.Endpoint, picker Picker) *Balancer {
	b := &Balancer{endpoints: endpoints, picker: picker}
	b.scratch.New = func() any {
		s := make([]*endpoint.Endpoint, 0, len(endpoints))
		return &s
	}
	return b
}

// Endpoints returns the cluster's endpoints in config order.
func (b *Balancer) Endpoints() []*endpoint.Endpoint { return b.endpoints }

// Next picks an endpoint not in tried and admits a request to it. When
// preferred (the session's endpoint under affinity) is eligible and untried,
// it wins, unless its rate limit is below the floor and another endpoint's
// is not. It returns nil when no endpoint can take the request.
func (b *Balancer) Next(now time.Time, tried []*endpoint.Endpoint, preferred *endpoint.Endpoint) (*endpoint.Endpoint, endpoint.Admission) {
	if preferred != nil && (contains(tried, preferred) || !preferred.State.Eligible(now)) {
		preferred = nil
	}
	if preferred != nil && !preferred.State.Steered(now) {
		if a := preferred.State.Admit(now); a != endpoint.Denied {
			return preferred, a
		}
		preferred = nil
	}
	sp := b.scratch.Get().(*[]*endpoint.Endpoint)
	defer b.scratch.Put(sp)
	// Admission can race with another request claiming the same half-open
	// slot; a loser is treated as tried and the pick repeats, at most once
	// per endpoint.
	skip := tried
	for range b.endpoints {
		cands := b.tier(now, skip, (*sp)[:0])
		*sp = cands[:0]
		if len(cands) == 0 {
			return nil, endpoint.Denied
		}
		ep := cands[0]
		switch {
		case preferred != nil && cands[0].State.Steered(now) && contains(cands, preferred):
			// Every choice is steered: the session's endpoint keeps its
			// prompt cache.
			ep = preferred
		case len(cands) > 1:
			ep = b.picker.Pick(cands)
		}
		if a := ep.State.Admit(now); a != endpoint.Denied {
			return ep, a
		}
		if len(skip) == len(tried) {
			skip = append(tried[:len(tried):len(tried)], ep)
		} else {
			skip = append(skip, ep)
		}
	}
	return nil, endpoint.Denied
}

// tier appends to dst the eligible, untried endpoints of the best
// (numerically lowest) priority tier; of those, only the active ones unless
// all are on standby (weight 0). Standby is a property of the endpoint, not
// of a strategy, so it is settled here for all of them. Above both comes
// the rate-limit floor: endpoints steered around are candidates only when
// every eligible endpoint is.
func (b *Balancer) tier(now time.Time, skip []*endpoint.Endpoint, dst []*endpoint.Endpoint) []*endpoint.Endpoint {
	found, best, standby, steered := false, 0, false, false
	for _, ep := range b.endpoints {
		if !ep.State.Eligible(now) || contains(skip, ep) {
			continue
		}
		p, sb, st := ep.Config.Priority, ep.Config.Weight <= 0, ep.State.Steered(now)
		switch {
		case !found || (steered && !st) ||
			(st == steered && (p < best || (p == best && standby && !sb))):
			found, best, standby, steered = true, p, sb, st
			dst = append(dst[:0], ep)
		case st == steered && p == best && sb == standby:
			dst = append(dst, ep)
		}
	}
	return dst
}

func contains(eps []*endpoint.Endpoint, ep *endpoint.Endpoint) bool {
	for _, e := range eps {
		if e == ep {
			return true
		}
	}
	return false
}
