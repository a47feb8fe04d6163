package balance

import (
	"sync/atomic"

	"github.com/qcc-dev/qcc/internal/endpoint"
)

// exploreEvery makes one pick in so many a plain rotation, so that an
// endpoint which was slow gets the samples it needs to show it has become
// fast again.
const exploreEvery = 10

// latency picks the candidate with the lowest time to first byte (moving
// average) per unit of effective weight, so that an endpoint that fails
// often loses its turn even when it is fast. An endpoint with no sample yet
// goes first.
type latency struct{ n atomic.Uint64 }

func (l *latency) Pick(c []*endpoint.Endpoint) *endpoint.Endpoint {
	n := l.n.Add(1) - 1
	if n%exploreEvery == exploreEvery-1 {
		return c[(n/exploreEvery)%uint64(len(c))]
	}
	var best *endpoint.Endpoint
	var bestScore float64
	for _, ep := range c {
		ttfb := ep.State.TTFB()
		if ttfb == 0 {
			return ep
		}
		score := float64(ttfb) / float64(max(ep.WeightMilli(), 1))
		if best == nil || score < bestScore {
			best, bestScore = ep, score
		}
	}
	return best
}
