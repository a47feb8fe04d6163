package balance

import (
	"sync/atomic"

	"github.com/qcc-dev/qcc/internal/endpoint"
)

// leastInflight picks the candidate with the fewest requests in flight now
// (not over its lifetime, which would punish an endpoint for having been
// good). Ties rotate, so idle endpoints share the load.
type leastInflight struct{ n atomic.Uint64 }

func (l *leastInflight) Pick(c []*endpoint.Endpoint) *endpoint.Endpoint {
	start := int((l.n.Add(1) - 1) % uint64(len(c)))
	best := c[start]
	for i := 1; i < len(c); i++ {
		ep := c[(start+i)%len(c)]
		if ep.State.Inflight() < best.State.Inflight() {
			best = ep
		}
	}
	return best
}
