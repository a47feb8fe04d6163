package supervise

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"
)

// component is one supervised function and its bookkeeping.
type component struct {
	name string
	run  func(context.Context) error

	// delay carries the event loop's answer to a failure. One slot, so the
	// loop never blocks on a component that was stopped while it decided.
	delay chan time.Duration
	// done is closed when the component has returned for good.
	done chan struct{}

	// Guarded by Supervisor.mu.
	cancel  context.CancelFunc // nil until spawned
	stopped bool               // stop was called

	// Owned by the event loop.
	backoff time.Duration // last un-jittered delay; 0 after a long enough run
}

func newComponent(name string, run func(context.Context) error) *component {
	return &component{
		name:  name,
		run:   run,
		delay: make(chan time.Duration, 1),
		done:  make(chan struct{}),
	}
}

// exit reports a failure of a component whose context is still live.
type exit struct {
	c      *component
	err    error // nil for an early return, *panicError for a panic
	uptime time.Duration
}

// supervise is the goroutine behind one component: it runs it, reports each
// failure to the event loop and sleeps the delay the loop hands back, until
// the component's context ends.
func (s *Supervisor) supervise(ctx context.Context, c *component) {
	defer s.release(c)
	for {
		started := time.Now()
		err := call(ctx, c.run)
		if ctx.Err() != nil {
			// Shutdown or stop: returning is what the component was asked
			// to do, but a failed drain is still worth a line.
			if err != nil && !errors.Is(err, context.Canceled) {
				ev := s.log.Warn().Str("component", c.name)
				logFailure(ev, err, "")
			}
			return
		}

		select {
		case s.exits <- exit{c: c, err: err, uptime: time.Since(started)}:
		case <-ctx.Done():
			return
		}
		var d time.Duration
		select {
		case d = <-c.delay:
		case <-ctx.Done():
			return
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// call runs run and turns a panic into a *panicError, so that one broken
// component cannot take the daemon down with it.
func call(ctx context.Context, run func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return run(ctx)
}

// panicError is a recovered panic.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string {
	return fmt.Sprintf("panic: %T", p.value)
}

// logFailure finishes ev with the details of err. A panic is logged with the
// type of its value and a stack trace but not the value itself, which could be
// anything the component had at hand (a request, a header); only runtime
// errors, whose text the runtime writes, are spelled out. nilMsg is the
// message for a nil err.
func logFailure(ev *zerolog.Event, err error, nilMsg string) {
	var p *panicError
	switch {
	case errors.As(err, &p):
		ev = ev.Str("panic_type", fmt.Sprintf("%T", p.value))
		if re, ok := p.value.(runtime.Error); ok {
			ev = ev.Str("panic", re.Error())
		}
		ev.Str("stack", string(p.stack)).Msg("component panicked")
	case err != nil:
		ev.Err(err).Msg("component failed")
	default:
		ev.Msg(nilMsg)
	}
}
