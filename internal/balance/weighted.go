package balance

import (
	"sync"

	"github.com/qcc-dev/qcc/internal/endpoint"
)

// weighted is nginx's smooth weighted round robin: every pick adds each
// candidate's weight to its running score, takes the highest score and
// subtracts the total from it. Over any window the picks follow the weights,
// and a heavy endpoint's turns are spread out rather than bunched.
//
// The weights are the effective ones, in thousandths (WeightMilli): the
// configured weight scaled by the endpoint's score, so that traffic leaves
// a slow or failing endpoint gradually.
//
// Weight 0 marks a standby: it is picked only when every candidate of the
// tier is on standby, and then they share equally.
type weighted struct {
	mu      sync.Mutex
	current []int64 // running score per endpoint index
}

func newWeighted(n int) *weighted { return &weighted{current: make([]int64, n)} }

func (w *weighted) Pick(c []*endpoint.Endpoint) *endpoint.Endpoint {
	allStandby := true
	for _, ep := range c {
		if ep.EffectiveWeight() > 0 {
			allStandby = false
			break
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var best *endpoint.Endpoint
	var total int64
	for _, ep := range c {
		wt := ep.WeightMilli()
		if allStandby {
			wt = 1
		}
		if wt <= 0 {
			continue
		}
		w.current[ep.Index] += wt
		total += wt
		if best == nil || w.current[ep.Index] > w.current[best.Index] {
			best = ep
		}
	}
	w.current[best.Index] -= total
	return best
}
