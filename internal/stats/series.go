package stats

import "time"

// The rolling windows are kept in two rings of slots: 10 s slots for
// windows up to 5 minutes, so that "the last minute" is sharp, and 1 minute
// slots for windows up to an hour. A window covers the current slot, which
// is partly filled, and the full slots before it: "1m" is between 50 and
// 60 seconds of traffic.
const (
	fineSlot    = 10 * time.Second
	fineSlots   = 30 // 5 minutes
	coarseSlot  = time.Minute
	coarseSlots = 60 // 1 hour

	// MaxWindow is the longest rolling window; a longer one is cut to it.
	MaxWindow = coarseSlot * coarseSlots
)

// key names a series: a cluster as a whole (Endpoint empty) or one of its
// endpoints.
type key struct {
	Cluster  string
	Endpoint string
}

// series is everything counted for one key: the totals and both rings.
type series struct {
	total  counts
	fine   ring
	coarse ring
}

func newSeries() *series {
	return &series{
		fine:   ring{width: fineSlot, slots: make([]slot, fineSlots)},
		coarse: ring{width: coarseSlot, slots: make([]slot, coarseSlots)},
	}
}

// at returns the counts an event at now goes to: the totals and the
// current slot of each ring.
func (s *series) at(now time.Time) [3]*counts {
	return [3]*counts{&s.total, s.fine.at(now), s.coarse.at(now)}
}

// window merges what the series counted over window into into; window ≤ 0
// means the totals.
func (s *series) window(now time.Time, window time.Duration, into *counts) {
	switch {
	case window <= 0:
		into.add(&s.total)
	case window <= fineSlot*fineSlots:
		s.fine.sum(now, window, into)
	default:
		s.coarse.sum(now, window, into)
	}
}

// windowStart returns when the oldest slot a window reads began.
func windowStart(now time.Time, window time.Duration) time.Time {
	width, n := coarseSlot, int64(coarseSlots)
	if window <= fineSlot*fineSlots {
		width, n = fineSlot, fineSlots
	}
	k := slotsIn(window, width, n)
	e := now.UnixNano() / int64(width)
	return time.Unix(0, (e-k+1)*int64(width))
}

// slotsIn is how many slots of width a window reads: rounded up, at most n.
func slotsIn(window, width time.Duration, n int64) int64 {
	return min(int64((window+width-1)/width), n)
}

// ring is a circle of time slots; a slot is reused, emptied, when its
// position comes round again.
type ring struct {
	width time.Duration
	slots []slot
}

type slot struct {
	epoch int64   // which slot of time it holds: its start divided by width
	c     *counts // nil until the first event, so an idle series costs little
}

func (r *ring) epoch(now time.Time) int64 { return now.UnixNano() / int64(r.width) }

func (r *ring) at(now time.Time) *counts {
	e := r.epoch(now)
	s := &r.slots[e%int64(len(r.slots))]
	switch {
	case s.c == nil:
		s.c = new(counts)
	case s.epoch != e:
		s.c.reset()
	}
	s.epoch = e
	return s.c
}

// sum adds the slots of the last window (rounded up to whole slots, at
// most the whole ring) into into.
func (r *ring) sum(now time.Time, window time.Duration, into *counts) {
	n := slotsIn(window, r.width, int64(len(r.slots)))
	e := r.epoch(now)
	for i := range r.slots {
		s := &r.slots[i]
		if s.c != nil && s.epoch > e-n && s.epoch <= e {
			into.add(s.c)
		}
	}
}
