package downstream

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// watchDelay is how long a request runs before a goroutine watches for its
// client leaving. Most quick answers (errors, token counts) are done by
// then and never pay for the goroutine and the read; a proxied request
// waits far longer than this for its upstream.
const watchDelay = 5 * time.Millisecond

// watch notices a client that leaves while its request is served, by a
// blocking 1-byte read of the connection once the request body is read:
// an error there cancels the request's context. A byte that arrives
// instead is the next request, pipelined: it is kept for conn.Read, and
// watching stops, as net/http's background read does.
type watch struct {
	mu      sync.Mutex
	timer   *time.Timer
	reading bool // run is in its read
	stopped bool
	gone    bool // the read failed: the client left
	running sync.WaitGroup
}

// consumed is called once the request body has been read to its end, or
// at once when there is none. With nothing read ahead, the read buffer
// goes back to the pool for as long as the handler runs, and the watch
// starts.
func (w *response) consumed() {
	c := w.c
	if c.br.Buffered() > 0 {
		// The next request is already here: nothing to watch for.
		return
	}
	c.br.Reset(nil)
	c.s.readers.Put(c.br)
	c.br = nil
	w.watch.timer = time.AfterFunc(watchDelay, w.runWatch)
}

// runWatch runs on the timer's goroutine, which stopWatch waits for.
func (w *response) runWatch() {
	wt := &w.watch
	wt.mu.Lock()
	if wt.stopped {
		wt.mu.Unlock()
		return
	}
	wt.reading = true
	wt.running.Add(1)
	wt.mu.Unlock()
	defer wt.running.Done()

	c := w.c
	n, err := c.nc.Read(c.peek[:])
	wt.mu.Lock()
	defer wt.mu.Unlock()
	wt.reading = false
	switch {
	case n == 1:
		c.peeked = true
	case err != nil && !wt.stopped:
		wt.gone = true
		w.cancel()
	}
}

// stopWatch ends the watch when the handler has returned: the timer is
// stopped, or a read in progress is failed by a past deadline and waited
// for. Whoever reads next sets a deadline of its own, which replaces that
// one.
func (w *response) stopWatch() {
	wt := &w.watch
	if wt.timer == nil {
		return
	}
	wt.mu.Lock()
	wt.stopped = true
	wt.timer.Stop()
	if wt.reading {
		_ = w.c.nc.SetReadDeadline(aLongTimeAgo)
	}
	wt.mu.Unlock()
	wt.running.Wait()
}

// reqBody is a request's body as the handler sees it: it sends 100
// Continue on the first read when the client asked for it, and starts the
// watch at the end.
type reqBody struct {
	w      *response
	rc     io.ReadCloser // as http.ReadRequest framed it; never closed, as its Close drains
	eof    bool
	closed atomic.Bool
}

func (b *reqBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.eof {
		return 0, io.EOF
	}
	if b.w.expect {
		b.w.sendContinue()
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
		b.w.consumed()
	}
	return n, err
}

// Close makes later reads fail. Unlike net/http's, it does not read the
// rest of the body, which could take as long as the client likes; what is
// left is dropped, or costs the connection, after the handler returns.
func (b *reqBody) Close() error {
	b.closed.Store(true)
	return nil
}
