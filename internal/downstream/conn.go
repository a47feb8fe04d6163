package downstream

import (
	"bufio"
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// aLongTimeAgo is a deadline that has passed: setting it fails a pending
// read at once.
var aLongTimeAgo = time.Unix(1, 0)

// maxDiscard bounds how much of a request body the handler left unread is
// read and dropped to keep the connection, as net/http does; a longer one
// costs the connection instead.
const maxDiscard = 256 << 10

// conn is one client connection, served by one goroutine that reads each
// request and runs the handler for it.
type conn struct {
	s      *Server
	nc     net.Conn
	ctx    context.Context // s.ctx with the local address, as net/http's
	remote string
	state  atomic.Uint64 // unix seconds << 8 | http.ConnState, for Shutdown

	// br reads requests off nc through conn.Read. It is nil, back in the
	// pool, while a handler runs with its request body read to the end and
	// nothing read ahead.
	br *bufio.Reader
	// remain is what br may still take from the socket: the header limit
	// while a head is read, unlimited otherwise.
	remain int64
	// peek is the byte of the next request that the watcher read, if
	// peeked; conn.Read hands it out first.
	peek   [1]byte
	peeked bool
	// lingerOnClose says the client may still be sending: see linger.
	lingerOnClose bool
}

func (s *Server) newConn(nc net.Conn) *conn {
	return &conn{
		s:      s,
		nc:     nc,
		ctx:    context.WithValue(s.ctx, http.LocalAddrContextKey, nc.LocalAddr()),
		remote: nc.RemoteAddr().String(),
		remain: math.MaxInt64,
	}
}

func (c *conn) getState() (http.ConnState, time.Time) {
	v := c.state.Load()
	return http.ConnState(v & 0xff), time.Unix(int64(v>>8), 0)
}

// Read is br's source: the watcher's byte first, then the socket, within
// remain.
func (c *conn) Read(p []byte) (int, error) {
	if c.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.remain {
		p = p[:c.remain]
	}
	var n int
	var err error
	if c.peeked && len(p) > 0 {
		p[0], c.peeked, n = c.peek[0], false, 1
	} else {
		n, err = c.nc.Read(p)
	}
	c.remain -= int64(n)
	return n, err
}

func (c *conn) serve() {
	defer c.close()
	for first := true; ; first = false {
		req := c.readRequest(first)
		if req == nil || !c.serveRequest(req) {
			return
		}
		c.s.setState(c, http.StateIdle)
	}
}

// readRequest reads the next request's head, or answers a bad one and
// returns nil. The first request on a connection gets ReadHeaderTimeout
// from the accept, as with net/http; a later one IdleTimeout to start and
// ReadHeaderTimeout from its first byte. Bodies and handlers get no
// deadline: a stream may rightly last many minutes.
func (c *conn) readRequest(first bool) *http.Request {
	s := c.s
	if c.br == nil {
		c.br = s.readers.Get().(*bufio.Reader)
		c.br.Reset(c)
	}
	// As net/http: MaxHeaderBytes, plus room for a request line and for
	// the start of a body read along with the head.
	limit := int64(s.o.MaxHeaderBytes) + 4096
	c.remain = limit
	ahead := c.br.Buffered() > 0 || c.peeked
	if !first && !ahead {
		_ = c.nc.SetReadDeadline(time.Now().Add(s.o.IdleTimeout))
		if _, err := c.br.Peek(1); err != nil {
			return nil
		}
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(s.o.ReadHeaderTimeout))
	req, err := http.ReadRequest(c.br)
	hit := c.remain <= 0
	if ahead || c.remain < limit {
		s.setState(c, http.StateActive)
	}
	c.remain = math.MaxInt64
	if err != nil {
		switch {
		case hit:
			c.reject("431 Request Header Fields Too Large")
		case err == io.EOF || isNetError(err):
			// Gone, timed out or reset: there is no one to answer.
		case strings.HasPrefix(err.Error(), "unsupported transfer encoding"):
			c.reject("501 Not Implemented")
		default:
			c.reject("400 Bad Request")
		}
		return nil
	}
	_ = c.nc.SetReadDeadline(time.Time{})
	switch {
	case req.ProtoMajor != 1:
		c.reject("505 HTTP Version Not Supported")
		return nil
	case req.Host == "" && req.ProtoAtLeast(1, 1):
		// RFC 9112 section 3.2. http.ReadRequest has moved the header
		// to req.Host, and rejected two of them.
		c.reject("400 Bad Request")
		return nil
	}
	return req
}

func isNetError(err error) bool {
	_, ok := err.(net.Error)
	return ok
}

// reject answers a request that cannot be served, as net/http answers it,
// and leaves the connection to be closed.
func (c *conn) reject(status string) {
	_, _ = io.WriteString(c.nc, "HTTP/1.1 "+status+
		"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"+status)
	c.lingerOnClose = true
}

// serveRequest runs the handler for req and finishes its response. It
// reports whether the connection may carry another request.
func (c *conn) serveRequest(req *http.Request) (keep bool) {
	ctx, cancel := context.WithCancel(c.ctx)
	req = req.WithContext(ctx)
	req.RemoteAddr = c.remote
	w := &response{c: c, req: req, cancel: cancel, cl: -1, closeAfter: req.Close}
	if e := req.Header.Get("Expect"); e != "" {
		if !strings.EqualFold(e, "100-continue") {
			cancel()
			c.reject("417 Expectation Failed")
			return false
		}
		w.expect = req.Body != http.NoBody && req.ProtoAtLeast(1, 1)
	}
	if req.Body != http.NoBody {
		w.body = reqBody{w: w, rc: req.Body}
		req.Body = &w.body
	} else {
		w.consumed()
	}

	returned := false
	defer func() {
		if !returned {
			// A panic, or runtime.Goexit: close with nothing more
			// written, as net/http does.
			if v := recover(); v != nil && v != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.s.o.ErrorLog.Printf("http: panic serving %v: %v\n%s", c.remote, v, buf)
			}
		}
		w.body.closed.Store(true)
		w.stopWatch()
		cancel()
		w.release()
	}()
	c.s.o.Handler.ServeHTTP(w, req)
	returned = true
	w.finish()
	w.stopWatch() // before keep reads what the watch learnt (again in the defer: a no-op then)
	return w.keep()
}

// close ends the connection and gives back its read buffer.
func (c *conn) close() {
	if c.br != nil {
		c.br.Reset(nil)
		c.s.readers.Put(c.br)
		c.br = nil
	}
	if c.lingerOnClose {
		c.linger()
	}
	c.nc.Close()
	c.s.setState(c, http.StateClosed)
	c.s.untrack(c)
}

// lingerGrace bounds how long a connection closed with request bytes still
// unread waits for the client to take the response first.
const lingerGrace = 500 * time.Millisecond

// linger closes the writing side and reads what the client still sends
// for a moment, as net/http does: closing a socket with unread input makes
// the kernel send a reset, which can destroy the response before the
// client reads it.
func (c *conn) linger() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(lingerGrace))
	_, _ = io.CopyN(io.Discard, c.nc, maxDiscard)
}
