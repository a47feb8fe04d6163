// Package upstream is an HTTP/1.1 client transport for qccd's upstreams in
// which the calling goroutine does all the work.
//
// net/http's Transport gives every connection a read goroutine and a write
// goroutine and hands each request and response between them and the caller;
// a long-lived SSE stream parks both, with a bufio buffer each. Here RoundTrip
// writes the request on the connection itself and reads the response head
// itself, and whoever reads the response body reads it straight off the
// connection. A connection costs its socket and its read buffer; write
// buffers are pooled and held only while a request is being written.
//
// With no goroutine watching idle connections, a server's close of one is
// noticed when it is checked out (a non-blocking peek at the socket). A close
// that races the request is retried once on a fresh connection when the
// request can be replayed (a nil body, http.NoBody, or GetBody set) and,
// if the server may have read it, doing it twice is harmless (net/http's
// rule: GET, HEAD, OPTIONS, TRACE, or an Idempotency-Key header).
//
// Left out on purpose, because qccd does not need it:
//   - HTTP/2. NextProtos is forced to http/1.1. Every qccd upstream speaks
//     HTTP/1.1, one request per connection at a time, as nginx proxies.
//   - Transparent gzip. qccd forwards the client's Accept-Encoding unchanged
//     and relays the bytes it gets; decompressing would change the response.
//   - Expect: 100-continue. qccd holds the whole body before it sends and
//     writes it with the headers; waiting a round trip for permission would
//     only add latency. An interim 100 that arrives anyway is skipped.
//   - Bodies of unknown length go out chunked, as req.Write does; and
//     req.Write probes a non-nil body whose ContentLength is 0 from a
//     goroutine. qccd always sets ContentLength.
//   - Reading while writing. The response is read once the request is
//     written, so a server that answers early (a 413, say) and closes before
//     taking a large body shows as a write error, not as its answer. qccd's
//     bodies fit in the socket buffers, and a failure before the first
//     response byte is retried on another endpoint anyway.
//   - HTTP proxies: a request that Options.Proxy routes through one goes to a
//     fallback *http.Transport, whose trace callbacks are net/http's.
//   - Trace callbacks other than GotConn and WroteRequest.
package upstream

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"sync"
	"syscall"
	"time"
)

// Options configures a Transport. Zero durations mean no limit, except as noted.
type Options struct {
	DialTimeout           time.Duration
	KeepAlive             time.Duration // TCP keep-alive period; 0 means 30s
	TLSHandshakeTimeout   time.Duration
	ResponseHeaderTimeout time.Duration // from the end of the request write to the response's headers
	IdleTimeout           time.Duration // an idle pooled connection older than this is closed, not reused; 0 means 90s
	MaxIdle               int           // idle connections kept per host; 0 means 256
	ReadBufferSize        int           // per connection; 0 means 4096
	TLSClientConfig       *tls.Config   // cloned; ServerName set per host; NextProtos forced to http/1.1
	// Proxy, when set and returning a non-nil URL for a request, sends that request through a
	// fallback *http.Transport built from the same options (HTTP proxies and CONNECT are its job).
	Proxy func(*http.Request) (*url.URL, error)
}

// writeBufferSize holds a request's headers and a small body, so that both
// leave in one write; a larger body is written through from its reader.
const writeBufferSize = 4 << 10

// Transport is an http.RoundTripper for HTTP/1.1 upstreams. It is safe for
// concurrent use.
type Transport struct {
	o        Options
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	tls      *tls.Config
	writers  sync.Pool // *bufio.Writer
	pool     pool
	fallback *http.Transport // only when o.Proxy is set
}

// New returns a Transport configured by o.
func New(o Options) *Transport {
	if o.KeepAlive == 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 90 * time.Second
	}
	if o.MaxIdle == 0 {
		o.MaxIdle = 256
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = 4 << 10
	}
	cfg := &tls.Config{}
	if o.TLSClientConfig != nil {
		cfg = o.TLSClientConfig.Clone()
	}
	cfg.NextProtos = []string{"http/1.1"}
	if cfg.ClientSessionCache == nil {
		// Resumption saves a round trip and the key exchange when a
		// connection is replaced, which is when latency matters most.
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(0)
	}
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: o.KeepAlive}
	t := &Transport{o: o, dial: dialer.DialContext, tls: cfg}
	t.writers.New = func() any { return bufio.NewWriterSize(nil, writeBufferSize) }
	t.pool = pool{max: o.MaxIdle, timeout: o.IdleTimeout}
	if o.Proxy != nil {
		t.fallback = &http.Transport{
			Proxy:                 o.Proxy,
			DialContext:           dialer.DialContext,
			TLSClientConfig:       cfg.Clone(),
			TLSHandshakeTimeout:   o.TLSHandshakeTimeout,
			ResponseHeaderTimeout: o.ResponseHeaderTimeout,
			IdleConnTimeout:       o.IdleTimeout,
			MaxIdleConnsPerHost:   o.MaxIdle,
			ReadBufferSize:        o.ReadBufferSize,
			WriteBufferSize:       writeBufferSize,
			DisableCompression:    true,
		}
	}
	return t
}

// CloseIdleConnections closes every idle connection. Connections in use are
// left alone; they close instead of going idle only if their response says so.
func (t *Transport) CloseIdleConnections() {
	t.pool.closeAll()
	if t.fallback != nil {
		t.fallback.CloseIdleConnections()
	}
}

// RoundTrip sends req and returns its response, whose body must be read to
// EOF for the connection to be reused; closing it earlier closes the
// connection. The request, its Header included, is not modified.
//
// Unlike net/http's Transport, RoundTrip is done with req.Body when it
// returns, whatever the outcome: the caller may reuse the body's memory at
// once. (qccd's proxy pools request bodies on that promise.)
//
// A ClientTrace's WroteRequest is called exactly once per call, failures
// included, after the last write of the request body; when a retry is still
// possible that is after the response head has arrived, since a retry
// replays the body.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt := roundTrip{req: req, trace: httptrace.ContextClientTrace(req.Context())}
	if err := validate(req); err != nil {
		return nil, rt.fail(err)
	}
	if t.fallback != nil {
		proxy, err := t.o.Proxy(req)
		if err != nil {
			return nil, rt.fail(err)
		}
		if proxy != nil {
			return t.viaProxy(req)
		}
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, rt.fail(err)
	}
	key := hostKey{req.URL.Scheme, req.URL.Host}
	rt.out = req
	if rt.trace != nil {
		// req.Write reports WroteRequest itself, per write and before the
		// flush; writing a copy that has no trace lets RoundTrip report
		// once per call, after the last write.
		rt.out = req.WithContext(context.Background())
	}
	for retried := false; ; retried = true {
		c, err := t.conn(ctx, key, req.URL)
		if err != nil {
			return nil, rt.fail(err)
		}
		rt.gotConn(c)
		if retried {
			if rt.out, err = rewind(rt.out); err != nil {
				c.close()
				return nil, rt.fail(err)
			}
		}
		last := retried || !c.reused || !replayable(req)
		resp, stale, err := t.exchange(ctx, c, &rt, last)
		if err == nil {
			rt.wrote(nil)
			return resp, nil
		}
		if last || !stale {
			return nil, rt.fail(err)
		}
	}
}

// viaProxy sends req through the fallback Transport. That one may go on
// reading a body after it returns (the http.RoundTripper contract), so it
// gets a copy of the body, and RoundTrip keeps its promise to be done with
// req.Body on return. A request through an HTTP proxy is rare enough for
// the copy not to matter.
func (t *Transport) viaProxy(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return t.fallback.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("upstream: reading request body: %w", err)
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return t.fallback.RoundTrip(out)
}

// conn returns an idle connection for key, or dials one.
func (t *Transport) conn(ctx context.Context, key hostKey, u *url.URL) (*conn, error) {
	if c := t.pool.get(key, time.Now()); c != nil {
		return c, nil
	}
	return t.dialConn(ctx, key, u)
}

// exchange writes the request on c and reads the response head. On success
// the response's body owns c; on failure c is closed, and stale reports that
// c was a reused connection the server had closed before answering.
func (t *Transport) exchange(ctx context.Context, c *conn, rt *roundTrip, last bool) (resp *http.Response, stale bool, err error) {
	// Cancellation moves c's deadline into the past, which unblocks any I/O
	// on it, here or in the body's reader, with no goroutine waiting for it.
	stop := context.AfterFunc(ctx, c.expire)
	defer func() {
		if err != nil {
			stop()
			c.close()
			if ctx.Err() != nil {
				stale, err = false, ctx.Err()
			}
		}
	}()

	werr := t.write(c, rt.out)
	rt.sent, rt.werr = true, werr
	if last {
		rt.wrote(werr)
	}
	if werr != nil {
		return nil, c.reused, fmt.Errorf("upstream: writing request: %w", werr)
	}
	if d := t.o.ResponseHeaderTimeout; d > 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(d))
	}
	if _, err := c.br.Peek(1); err != nil {
		// Nothing came back on a reused connection: the server closed it
		// while idle (and the idle check at checkout just missed it), or
		// it read the request and then failed. Only the first is safe to
		// repeat for a POST, and the two cannot be told apart: as net/http
		// does, a written request is sent again only when doing it twice
		// is harmless. Anything else is the caller's to decide (qccd's
		// proxy counts it as a failed attempt and may try another endpoint).
		stale := c.reused && idempotent(rt.req) && (err == io.EOF || errors.Is(err, syscall.ECONNRESET))
		return nil, stale, readError(err)
	}
	if resp, err = readResponse(c.br, rt.req); err != nil {
		return nil, false, readError(err)
	}
	if t.o.ResponseHeaderTimeout > 0 {
		_ = c.nc.SetReadDeadline(time.Time{})
		// A cancel before this point would have had its past deadline
		// cleared just now; one after it runs c.expire after the clear.
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
	}
	b := &body{rc: resp.Body, c: c, t: t, ctx: ctx, stop: stop, keep: !resp.Close && !rt.req.Close}
	if resp.Body == http.NoBody {
		b.finish(true)
	} else {
		resp.Body = b
	}
	return resp, false, nil
}

// write sends req through a pooled buffer flushed once, so the headers and
// an in-memory body that fits leave together.
func (t *Transport) write(c *conn, req *http.Request) error {
	bw := t.writers.Get().(*bufio.Writer)
	bw.Reset(c.nc)
	err := req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	t.writers.Put(bw)
	return err
}

// readResponse reads the final response head, skipping interim ones.
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for n := 0; ; n++ {
		resp, err := http.ReadResponse(br, req)
		switch {
		case err != nil:
			return nil, err
		case resp.StatusCode == http.StatusSwitchingProtocols:
			return nil, errors.New("upstream: unexpected 101 Switching Protocols")
		case resp.StatusCode >= 200:
			return resp, nil
		case n == 5: // as net/http: a server cannot keep the caller waiting forever
			return nil, errors.New("upstream: too many 1xx responses")
		}
	}
}

// readError names a failed read of the response head; a passed deadline
// there can only be ResponseHeaderTimeout's (exchange reports a cancel).
func readError(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &timeoutError{what: "awaiting response headers", err: err}
	}
	return fmt.Errorf("upstream: reading response: %w", err)
}

func validate(req *http.Request) error {
	switch {
	case req.URL == nil:
		return errors.New("upstream: request has no URL")
	case req.URL.Scheme != "http" && req.URL.Scheme != "https":
		return fmt.Errorf("upstream: unsupported scheme %q", req.URL.Scheme)
	case req.URL.Host == "":
		return errors.New("upstream: request URL has no host")
	}
	return nil
}

// timeoutError is one of this package's own deadlines passing. It is a
// net.Error whose Timeout is true, as net/http's are.
type timeoutError struct {
	what string
	err  error
}

func (e *timeoutError) Error() string   { return "upstream: timeout " + e.what }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }
func (e *timeoutError) Unwrap() error   { return e.err }
