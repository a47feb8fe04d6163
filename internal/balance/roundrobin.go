package balance

import (
	"sync/atomic"

	"github.com/qcc-dev/qcc/internal/endpoint"
)

// roundRobin takes the candidates in turn.
type roundRobin struct{ n atomic.Uint64 }

func (r *roundRobin) Pick(c []*endpoint.Endpoint) *endpoint.Endpoint {
	return c[(r.n.Add(1)-1)%uint64(len(c))]
}
