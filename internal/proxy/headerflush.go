package proxy

import (
	"sync"
	"time"
)

// headerWait is how long a stream's response headers wait for its first
// event, so that both leave in one write and the client wakes once. Past
// it they leave on their own: a client learns the status while a slow
// upstream prepares its first event.
const headerWait = 20 * time.Millisecond

// headerFlush sends a stream's headers with its first event, or alone once
// headerWait has passed without one. The late flush runs on a timer's
// goroutine while the relay is blocked reading the upstream; mu orders it
// with the relay's first write, as httputil.ReverseProxy orders its
// periodic flushes with its writes.
type headerFlush struct {
	mu      sync.Mutex
	pending bool // the timer may still flush
	flush   func()
	timer   *time.Timer
	settled bool // owned by the relay
}

func startHeaderFlush(flush func()) *headerFlush {
	h := &headerFlush{pending: true, flush: flush}
	h.timer = time.AfterFunc(headerWait, h.late)
	return h
}

func (h *headerFlush) late() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending {
		h.pending = false
		h.flush()
	}
}

// settle makes sure the timer flushes no more: the relay calls it before
// its first write and before it returns, and owns the writer alone after.
func (h *headerFlush) settle() {
	if h.settled {
		return
	}
	h.settled = true
	if h.timer.Stop() {
		return // it never fired
	}
	h.mu.Lock() // wait out a flush in progress
	h.pending = false
	h.mu.Unlock()
}
