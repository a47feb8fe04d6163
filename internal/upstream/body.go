package upstream

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"
)

var errBodyClosed = errors.New("upstream: read on closed response body")

// body is a response body read straight off its connection. At EOF the
// connection goes back to the pool, if nothing said otherwise; on an error
// or an early Close it is closed, never drained: a drain could read for as
// long as a stream lasts.
type body struct {
	rc     io.ReadCloser // the body as http.ReadResponse framed it; never closed, as its Close drains
	c      *conn
	t      *Transport
	ctx    context.Context
	stop   func() bool // stops the cancel watcher; false once it has fired
	keep   bool        // neither side asked to close the connection
	err    error       // sticky; only Read touches it, and Reads are not concurrent
	closed atomic.Bool
	done   atomic.Bool // c has been released
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.closed.Load() {
		return 0, errBodyClosed
	}
	n, err := b.rc.Read(p)
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		b.finish(true)
	case b.closed.Load():
		err = errBodyClosed
	case b.ctx.Err() != nil:
		err = b.ctx.Err()
		b.finish(false)
	default:
		b.finish(false)
	}
	b.err = err
	return n, err
}

// Close closes the connection unless the body was read to its end. It may
// be called while a Read is blocked, which it unblocks.
func (b *body) Close() error {
	b.closed.Store(true)
	b.finish(false)
	return nil
}

// finish releases the connection, once: back to the pool only if the body
// ended cleanly, both sides allow it, and no cancel touched the connection.
func (b *body) finish(reuse bool) {
	if !b.done.CompareAndSwap(false, true) {
		return
	}
	if b.stop() && reuse && b.keep {
		b.t.pool.put(b.c, time.Now())
		return
	}
	b.c.close()
}
