// Package supervise runs the daemon's long-lived components — listeners, the
// health scheduler, the stats collector, the config watcher, the admin API —
// and keeps them running until the daemon shuts down.
//
// A component that fails, panics or returns while the daemon is still running
// is restarted after an exponential backoff. The supervisor's own event loop
// decides every restart and also feeds the systemd watchdog, so a wedged
// supervisor stops the watchdog pings and systemd restarts the whole process
// instead of leaving it half alive.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Defaults applied by New to zero-valued Options.
const (
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
	DefaultResetAfter = time.Minute
)

// Errors returned by Start.
var (
	// ErrNameTaken means another component with the same name is registered
	// and has not been stopped yet.
	ErrNameTaken = errors.New("supervise: component name already taken")
	// ErrStopped means Run's context has ended, so no new component can start.
	ErrStopped = errors.New("supervise: supervisor is shutting down")
)

// Options tune a Supervisor. The zero value is usable.
type Options struct {
	// MinBackoff is the delay before the first restart of a failing
	// component; each further quick failure doubles it. Default 100ms.
	MinBackoff time.Duration
	// MaxBackoff caps the doubling. Default 30s.
	MaxBackoff time.Duration
	// ResetAfter is how long a component has to stay up for its next failure
	// to be treated as a first one again. Default 1m.
	ResetAfter time.Duration

	// Heartbeat, if set together with a positive HeartbeatInterval, is called
	// from the supervisor's event loop every HeartbeatInterval, typically to
	// ping the systemd watchdog. It must not block for long: while it runs the
	// supervisor handles nothing else.
	Heartbeat         func()
	HeartbeatInterval time.Duration
}

// Supervisor runs named components and restarts the ones that fail. Create it
// with New, register components with Add or Start, then call Run once.
type Supervisor struct {
	log  zerolog.Logger
	opts Options

	// exits carries failures from component goroutines to the event loop.
	// It is unbuffered on purpose: a restart happens only once the loop has
	// taken the failure in, so a stuck loop shows as stalled restarts and
	// missing heartbeats, not as a process that looks healthy.
	exits chan exit

	mu         sync.Mutex
	state      state
	ctx        context.Context       // Run's context; nil until Run starts
	components map[string]*component // registered and not yet gone
	pending    []*component          // registered before Run, in order
	restarts   map[string]int        // by name; kept after a component is stopped
	running    sync.WaitGroup        // one per spawned component goroutine
}

type state int

const (
	idle     state = iota // Run not called yet
	running               // Run's context is live
	draining              // Run's context ended; waiting for components
	stopped               // Run returned
)

// New returns a Supervisor that logs component failures to log.
func New(log zerolog.Logger, opts Options) *Supervisor {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.ResetAfter <= 0 {
		opts.ResetAfter = DefaultResetAfter
	}
	return &Supervisor{
		log:        log,
		opts:       opts,
		exits:      make(chan exit),
		components: make(map[string]*component),
		restarts:   make(map[string]int),
	}
}

// Add registers a component that lives as long as the daemon. It is meant for
// wiring at start-up, so a taken name or a supervisor that has already shut
// down is a programming error and panics.
func (s *Supervisor) Add(name string, run func(context.Context) error) {
	if _, err := s.Start(name, run); err != nil {
		panic(err)
	}
}

// Start registers a component and, if Run is under way, starts it at once;
// before Run it starts when Run does. The returned stop cancels the
// component's context, prevents further restarts and waits until the
// component has returned, after which its name is free again. stop may be
// called more than once; it must not be called from inside the component
// itself, which would wait for its own return.
func (s *Supervisor) Start(name string, run func(context.Context) error) (stop func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state >= draining {
		return nil, ErrStopped
	}
	if _, taken := s.components[name]; taken {
		return nil, fmt.Errorf("%w: %q", ErrNameTaken, name)
	}
	c := newComponent(name, run)
	s.components[name] = c
	if s.state == running {
		s.spawnLocked(c)
	} else {
		s.pending = append(s.pending, c)
	}
	return func() { s.stop(c) }, nil
}

// Run starts every registered component and supervises them until ctx ends;
// then it cancels their contexts and returns once all of them have returned.
// Components do their own draining, so Run waits as long as they take. Run
// may be called only once; it returns nil after a clean shutdown.
func (s *Supervisor) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.state != idle {
		s.mu.Unlock()
		return errors.New("supervise: Run called more than once")
	}
	s.state = running
	s.ctx = ctx
	for _, c := range s.pending {
		if !c.stopped {
			s.spawnLocked(c)
		}
	}
	s.pending = nil
	s.mu.Unlock()

	var heartbeat <-chan time.Time
	if s.opts.Heartbeat != nil && s.opts.HeartbeatInterval > 0 {
		t := time.NewTicker(s.opts.HeartbeatInterval)
		defer t.Stop()
		heartbeat = t.C
	}

	done := ctx.Done()
	var drained chan struct{} // closed once every component has returned
	for {
		select {
		case <-done:
			done = nil
			s.mu.Lock()
			s.state = draining
			s.mu.Unlock()
			drained = make(chan struct{})
			// Start refuses new components from now on, so the count only
			// goes down and Wait cannot race an Add. This goroutine ends
			// when the last component does, and Run waits for that.
			go func() {
				s.running.Wait()
				close(drained)
			}()
		case e := <-s.exits:
			s.restartAfter(e)
		case <-heartbeat:
			s.opts.Heartbeat()
		case <-drained:
			s.mu.Lock()
			s.state = stopped
			s.mu.Unlock()
			return nil
		}
	}
}

// Restarts returns how many times each component has been scheduled for a
// restart since the supervisor was created, by name. Names of components that
// have been stopped stay in the map so that counters never go backwards.
func (s *Supervisor) Restarts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.restarts))
	for name, n := range s.restarts {
		out[name] = n
	}
	return out
}

// spawnLocked starts c's goroutine; s.mu must be held and Run's context set.
func (s *Supervisor) spawnLocked(c *component) {
	ctx, cancel := context.WithCancel(s.ctx)
	c.cancel = cancel
	s.running.Add(1)
	go s.supervise(ctx, c)
}

// stop cancels c and waits until it is gone.
func (s *Supervisor) stop(c *component) {
	s.mu.Lock()
	switch {
	case c.cancel != nil:
		c.cancel()
	case !c.stopped:
		// Never spawned because Run has not begun: nothing runs, so the
		// component is gone as soon as it is unregistered.
		delete(s.components, c.name)
		close(c.done)
	}
	c.stopped = true
	s.mu.Unlock()
	<-c.done
}

// release unregisters c once its goroutine is about to end for good.
func (s *Supervisor) release(c *component) {
	s.mu.Lock()
	if s.components[c.name] == c {
		delete(s.components, c.name)
	}
	s.mu.Unlock()
	c.cancel()
	close(c.done)
	s.running.Done()
}

// restartAfter runs on the event loop: it logs a failure, counts it and tells
// the component how long to wait before its next run.
func (s *Supervisor) restartAfter(e exit) {
	c := e.c
	if e.uptime >= s.opts.ResetAfter {
		c.backoff = 0
	}
	c.backoff = nextBackoff(c.backoff, s.opts.MinBackoff, s.opts.MaxBackoff)
	delay := jitter(c.backoff)

	s.mu.Lock()
	s.restarts[c.name]++
	n := s.restarts[c.name]
	s.mu.Unlock()

	ev := s.log.Error().
		Str("component", c.name).
		Dur("uptime", e.uptime).
		Int("restarts", n).
		Dur("retry_in", delay)
	logFailure(ev, e.err, "component returned while the daemon was still running")

	// Buffered: the component may have been stopped in the meantime and no
	// longer be listening.
	c.delay <- delay
}
