// Package downstream is an HTTP/1.1 server for qccd's proxy listeners that
// holds as little as it can while a response streams.
//
// net/http's Server keeps, for every open connection, a 4 KiB read buffer,
// a 4 KiB write buffer and a 2 KiB chunking buffer for as long as a response
// lasts, and starts a background-read goroutine, snapshots the header map
// and moves deadlines for every request. An SSE stream of Claude Code's
// lasts minutes, mostly idle, and a thousand of them at once is normal.
// Here a connection is one goroutine, on which the handler runs; its read
// buffer is pooled and given back once the request body has been read, and
// its write buffer is pooled and given back after every Flush, so a stream
// waiting for its next event holds neither. A client that leaves is noticed
// by a 1-byte read started a few milliseconds into the request, so a quick
// request pays for a timer and nothing else.
//
// Left out on purpose, because qccd does not need it: HTTP/2 and TLS (the
// listeners are plain TCP), Hijack, response trailers, 1xx responses other
// than 100 Continue, http.ServerContextKey, and read or write deadlines set
// through http.ResponseController.
package downstream

import (
	"bufio"
	"context"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qcc-dev/qcc/internal/sockio"
)

// Options configures a Server.
type Options struct {
	Handler           http.Handler
	ReadHeaderTimeout time.Duration // reading one request's header; 0 means 30s
	IdleTimeout       time.Duration // waiting for the next request on a keep-alive connection; 0 means 2m
	MaxHeaderBytes    int           // 0 means 1 MiB (http.DefaultMaxHeaderBytes)
	ErrorLog          *log.Logger   // handler panics and the like, as net/http logs them; nil means log.Default()
	// ConnState is called on each change of a connection's state, with
	// net/http's meanings: StateNew on accept, StateActive once a request's
	// bytes arrive, StateIdle after a response on a kept connection,
	// StateClosed at the end.
	ConnState func(net.Conn, http.ConnState)
}

// bufferSize is the size of the pooled read and write buffers: a request
// head, or a response head with a small body, fits in one.
const bufferSize = 4 << 10

// Server serves HTTP/1.1 on the listeners given to Serve.
type Server struct {
	o       Options
	readers sync.Pool // *bufio.Reader
	writers sync.Pool // *bufio.Writer
	heads   sync.Pool // *[]byte, response heads being built

	// ctx is every request context's parent; Close cancels it, so that
	// handlers waiting on an upstream stop at once.
	ctx    context.Context
	cancel context.CancelFunc

	closing   atomic.Bool // Shutdown or Close was called
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
}

// New returns a Server configured by o.
func New(o Options) *Server {
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 30 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Minute
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = http.DefaultMaxHeaderBytes
	}
	if o.ErrorLog == nil {
		o.ErrorLog = log.Default()
	}
	s := &Server{o: o, listeners: map[net.Listener]struct{}{}, conns: map[*conn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.readers.New = func() any { return bufio.NewReaderSize(nil, bufferSize) }
	s.writers.New = func() any { return bufio.NewWriterSize(nil, bufferSize) }
	s.heads.New = func() any { b := make([]byte, 0, 512); return &b }
	return s
}

// Serve accepts connections on ln and serves each on a goroutine of its
// own. It closes ln when it returns, and returns http.ErrServerClosed once
// Shutdown or Close has been called.
func (s *Server) Serve(ln net.Listener) error {
	defer ln.Close()
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			if temporary(err) {
				// As net/http: running out of file descriptors is
				// passing; wait and retry rather than give up the port.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.o.ErrorLog.Printf("http: Accept error: %v; retrying in %v", err, backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := s.newConn(sockio.Wrap(nc))
		if !s.track(c) {
			nc.Close()
			continue
		}
		s.setState(c, http.StateNew)
		go c.serve()
	}
}

// temporary reports an Accept error that says it will pass, as EMFILE does.
func temporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// Shutdown stops accepting connections, closes idle ones, and waits for the
// others to finish their current request and close; a request that arrives
// meanwhile is answered, with Connection: close. Once ctx ends it returns
// ctx.Err(), leaving whatever is still running to Close.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.stop()
	wait := time.Millisecond
	t := time.NewTimer(wait)
	defer t.Stop()
	for !s.closeIdle() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			wait = min(2*wait, 100*time.Millisecond)
			t.Reset(wait)
		}
	}
	return err
}

// Close closes the listeners and every connection now, and cancels every
// request's context.
func (s *Server) Close() error {
	err := s.stop()
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.nc.Close()
	}
	return err
}

// stop marks the server closing and closes its listeners.
func (s *Server) stop() error {
	s.closing.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	for ln := range s.listeners {
		if cerr := ln.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// newConnGrace is how long Shutdown lets a connection accepted just before
// it send its first request, as net/http does.
const newConnGrace = 5 * time.Second

// closeIdle closes the connections waiting for a request and reports
// whether none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for c := range s.conns {
		st, since := c.getState()
		if st == http.StateIdle || st == http.StateNew && now.Sub(since) > newConnGrace {
			c.nc.Close()
		}
	}
	return len(s.conns) == 0
}

// track registers c, unless the server is closing.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) setState(c *conn, st http.ConnState) {
	c.state.Store(uint64(time.Now().Unix())<<8 | uint64(st))
	if s.o.ConnState != nil {
		s.o.ConnState(c.nc, st)
	}
}
