// Package stats counts what qccd did, per cluster and per endpoint: requests
// by status, attempts and failovers, latency, stream errors and tokens, over
// rolling windows (1m, 5m, 1h) and in totals that survive a restart.
//
// The proxy hands each finished request to Collector.OnRecord, which never
// blocks: the event goes into a bounded queue, or is dropped and counted
// when the queue is full. The collector's own goroutine does the counting,
// a batch at a time, so a request pays for one channel send and nothing
// else; Report counts what is queued first, so it misses no finished
// request.
package stats

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/proxy"
)

// Defaults applied by New to zero-valued Options.
const (
	// DefaultQueue is the intake's capacity: at a thousand requests a
	// second the collector may fall four seconds behind before it drops.
	DefaultQueue     = 4096
	DefaultSaveEvery = 30 * time.Second
	// DefaultLinger is how long the collector lets events queue after the
	// first before it counts them. A send to a goroutine waiting on the
	// channel wakes it, and on an otherwise idle machine a thread with it,
	// for every request; a goroutine asleep on a timer is not woken by a
	// send, so a batch costs one wake-up (see docs/performance.md).
	DefaultLinger = 10 * time.Millisecond
)

// Options configures a Collector.
type Options struct {
	// Snapshot returns the current runtime snapshot, for the in-flight
	// counts and the order of clusters and endpoints in reports. May be nil.
	Snapshot func() *cluster.Snapshot
	// StateDir is where the totals are kept across restarts; empty keeps
	// them in memory only.
	StateDir string
	Log      zerolog.Logger
	// Queue is the intake's capacity; 0 means DefaultQueue.
	Queue int
	// SaveEvery is how often the totals are written; 0 means
	// DefaultSaveEvery. They are also written when Run ends and by Flush.
	SaveEvery time.Duration
	// Linger is how long events gather before they are counted; 0 means
	// DefaultLinger.
	Linger time.Duration
	// Observe, when set, sees every event after it was counted, on the
	// goroutine that counts it (the collector's, or Report's caller): the
	// Prometheus metrics hang here, off the request path. It gets a copy,
	// so that no event escapes to the heap.
	Observe func(Event)
	// Now is the clock of the rolling windows; nil means time.Now.
	Now func() time.Time
}

// Collector is the stats component. Create it with New, run it with Run
// (under the supervisor), feed it with OnRecord and read it with Report.
type Collector struct {
	opts    Options
	in      chan Event
	kick    chan struct{} // cap 1: events are queued
	dropped atomic.Int64

	// counting is held while events are taken off in and counted, so that
	// Report, which counts what is queued first, cannot miss an event
	// another goroutine has taken but not yet counted.
	counting sync.Mutex

	mu     sync.Mutex // guards since and series, between Run and Report
	since  time.Time
	series map[key]*series

	dirty bool // guarded by mu: counted since the last save

	// Owned by the goroutine that runs Run (and by Flush after it).
	loaded  bool
	saveErr string
}

// New returns a Collector. Nothing is read or written until Run.
func New(opts Options) *Collector {
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.SaveEvery <= 0 {
		opts.SaveEvery = DefaultSaveEvery
	}
	if opts.Linger <= 0 {
		opts.Linger = DefaultLinger
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Collector{
		opts:   opts,
		in:     make(chan Event, opts.Queue),
		kick:   make(chan struct{}, 1),
		since:  opts.Now(),
		series: map[key]*series{},
	}
}

// OnRecord takes in a finished request; it is proxy.Options.OnRecord. It
// never blocks.
func (c *Collector) OnRecord(rec *proxy.Record) { c.Submit(EventOf(rec)) }

// Submit queues ev for counting and reports whether it was taken. When the
// queue is full the event is dropped and counted as dropped: a slow
// collector must never slow a request down.
func (c *Collector) Submit(ev Event) bool {
	select {
	case c.in <- ev:
	default:
		c.dropped.Add(1)
		return false
	}
	// Wakes Run only when it waits for a batch: while it lingers, the
	// kick waits in the channel.
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return true
}

// Dropped returns how many events this process dropped because the queue
// was full.
func (c *Collector) Dropped() int64 { return c.dropped.Load() }

// Load reads the saved totals, once; later calls do nothing. The daemon
// calls it before it reports ready, so that the first answer after a
// restart already holds them; Run calls it too, for callers that do not.
// It must not run concurrently with Run.
func (c *Collector) Load() {
	if !c.loaded {
		c.loaded = true
		c.load()
	}
}

// Run loads the saved totals (see Load), then counts events, Linger after
// the first of each batch, and saves the totals every SaveEvery until ctx
// ends, when it counts what is queued and saves once more. Saving never
// fails the component: a state directory that cannot be written is logged
// and the counting goes on.
func (c *Collector) Run(ctx context.Context) error {
	c.Load()
	tick := time.NewTicker(c.opts.SaveEvery)
	defer tick.Stop()
	linger := time.NewTimer(c.opts.Linger)
	for {
		select {
		case <-c.kick:
			linger.Reset(c.opts.Linger)
			select {
			case <-linger.C:
			case <-ctx.Done():
			}
			c.countQueued()
		case <-tick.C:
			c.save()
		case <-ctx.Done():
			c.Flush()
			return nil
		}
	}
}

// Flush counts the events still queued and saves the totals. The daemon
// calls it after Run has returned and the listeners have drained, so that
// requests which finished during the drain are kept too.
func (c *Collector) Flush() {
	c.countQueued()
	c.save()
}

// countQueued counts the events queued now, and no more: under a steady
// stream of requests, a caller must not be kept counting forever.
func (c *Collector) countQueued() {
	c.counting.Lock()
	defer c.counting.Unlock()
	for range len(c.in) {
		ev := <-c.in // only holders of counting receive
		c.count(&ev)
	}
}

// count adds one event to its cluster's and endpoints' series.
func (c *Collector) count(ev *Event) {
	now := c.opts.Now()
	c.mu.Lock()
	for _, k := range c.get(key{ev.Cluster, ""}).at(now) {
		k.request(ev)
		k.attempts += int64(ev.Attempts)
		k.failovers += int64(max(ev.Attempts-1, 0))
	}
	for i, f := range ev.Failed {
		over := ev.FailedOver(i)
		for _, k := range c.get(key{ev.Cluster, f.Endpoint}).at(now) {
			k.attempts++
			if over {
				k.failovers++
			}
		}
	}
	if ev.Endpoint != "" {
		answered := ev.Answered()
		for _, k := range c.get(key{ev.Cluster, ev.Endpoint}).at(now) {
			k.request(ev)
			if answered {
				k.attempts++
			}
		}
	}
	c.dirty = true
	c.mu.Unlock()
	if c.opts.Observe != nil {
		c.opts.Observe(*ev)
	}
}

// get returns k's series, creating it; c.mu must be held.
func (c *Collector) get(k key) *series {
	s := c.series[k]
	if s == nil {
		s = newSeries()
		c.series[k] = s
	}
	return s
}
