package logging

import (
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// linger is how long the writer goroutine lets entries gather after the
// first one before it writes them. A proxy answering one request at a time
// would otherwise wake the goroutine, and so a second thread, for every
// line, and its write(2) would wake the runtime's sysmon thread (see
// internal/sockio). With the same change to the stats collector, that was
// a third of the CPU a request cost on two shared cores, and more than 100
// µs of its latency (docs/performance.md). With linger, a burst of any
// size costs one wake-up and one write; a line reaches its destination at
// most this much later, stamped with the time it was logged.
const linger = 10 * time.Millisecond

// maxPending bounds the log bytes waiting for the writer goroutine. Past it,
// a logging goroutine waits for room: a log line is never dropped, and a
// destination that stalls slows the proxy down rather than grow its memory.
const maxPending = 1 << 20

// asyncWriter hands each log entry to one goroutine that writes it, so that
// a request never waits for a write(2) or a journald send before its
// response can leave: net/http sends a handler's buffered response only
// when the handler returns, and the request's log line is written just
// before. The goroutine writes what queued over linger in one call, so
// that a busy proxy and an idle one alike make one syscall for many lines.
//
// zerolog's own diode writer would do the hand-off too, but it drops lines
// when it falls behind; this one waits instead, and it keeps entries whole
// for journald, which takes one datagram per entry.
type asyncWriter struct {
	out io.Writer
	// stream says that out is a byte stream (a file, a pipe) on which a
	// batch of entries may go in one Write; otherwise (journald) every
	// entry is a Write of its own.
	stream bool

	mu      sync.Mutex
	room    sync.Cond // signalled when the writer has taken the pending batch
	pending []byte    // entries, back to back
	ends    []int     // where each pending entry ends, when !stream
	spare   []byte    // the previous batch's buffer, to reuse
	spareE  []int
	writing bool // a batch is being written
	closed  bool

	kick   chan struct{} // cap 1: there is something pending
	hurry  chan struct{} // cap 1: Flush or Close wants the pending batch written now
	done   chan struct{} // closed when the goroutine has written all and exited
	linger time.Duration
}

// newAsyncWriter starts the goroutine that writes to out. Close stops it.
// Entries wait up to d to be written together.
func newAsyncWriter(out io.Writer, stream bool, d time.Duration) *asyncWriter {
	w := &asyncWriter{
		out: out, stream: stream, linger: d,
		kick: make(chan struct{}, 1), hurry: make(chan struct{}, 1), done: make(chan struct{}),
	}
	w.room.L = &w.mu
	go w.run()
	return w
}

// Write queues a copy of p, one entry, and returns at once unless
// maxPending bytes are already waiting.
func (w *asyncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	for len(w.pending) >= maxPending && !w.closed {
		w.room.Wait()
	}
	if w.closed {
		// After Close (a line logged while the process exits): written
		// here, after the rest, so that it is neither lost nor reordered.
		w.mu.Unlock()
		<-w.done
		return w.out.Write(p)
	}
	if len(w.pending) == 0 {
		// Under the lock, so that Close cannot close kick in between.
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	w.pending = append(w.pending, p...)
	if !w.stream {
		w.ends = append(w.ends, len(w.pending))
	}
	w.mu.Unlock()
	return len(p), nil
}

// WriteLevel implements zerolog.LevelWriter: a fatal or panic entry, after
// which the process ends, is written before WriteLevel returns.
func (w *asyncWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	n, err := w.Write(p)
	if l >= zerolog.FatalLevel && l != zerolog.NoLevel && l != zerolog.Disabled {
		w.Flush()
	}
	return n, err
}

// Flush waits until every entry queued so far has been written.
func (w *asyncWriter) Flush() {
	w.mu.Lock()
	if !w.closed {
		hurry(w.hurry)
	}
	for (len(w.pending) > 0 || w.writing) && !w.closed {
		w.room.Wait()
	}
	closed := w.closed
	w.mu.Unlock()
	if closed {
		<-w.done
	}
}

// Close writes what is pending, stops the goroutine and makes later writes
// synchronous. It is safe to call more than once.
func (w *asyncWriter) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closed = true
	close(w.kick)
	hurry(w.hurry)
	w.room.Broadcast()
	w.mu.Unlock()
	<-w.done
	return nil
}

// run writes a batch linger after its first entry, or at once when hurried,
// until Close; then it writes the last one.
func (w *asyncWriter) run() {
	defer close(w.done)
	wait := time.NewTimer(w.linger)
	for range w.kick {
		wait.Reset(w.linger)
		select {
		case <-wait.C:
		case <-w.hurry:
		}
		w.drain()
	}
	w.drain()
}

// hurry asks run to write now; a request already pending is as good.
func hurry(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// drain takes the pending batch, leaving the spare buffers in its place,
// and writes it outside the lock so that loggers keep queueing meanwhile.
func (w *asyncWriter) drain() {
	for {
		w.mu.Lock()
		batch, ends := w.pending, w.ends
		if len(batch) == 0 {
			w.mu.Unlock()
			return
		}
		w.pending, w.ends = w.spare[:0], w.spareE[:0]
		w.spare, w.spareE = nil, nil // pending's now; never two owners
		w.writing = true
		w.mu.Unlock()

		// Errors are the destination's to report: a journalWriter falls
		// back to stderr itself, and stderr has nowhere else to go.
		if w.stream {
			_, _ = w.out.Write(batch)
		} else {
			start := 0
			for _, end := range ends {
				_, _ = w.out.Write(batch[start:end])
				start = end
			}
		}

		w.mu.Lock()
		w.writing = false
		if cap(batch) <= 2*maxPending { // one odd burst must not pin a large buffer
			w.spare, w.spareE = batch[:0], ends[:0]
		}
		w.room.Broadcast()
		w.mu.Unlock()
	}
}
