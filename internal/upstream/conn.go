package upstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/qcc-dev/qcc/internal/sockio"
)

// aLongTimeAgo is a deadline that has passed: setting it fails pending and
// future I/O on a connection at once.
var aLongTimeAgo = time.Unix(1, 0)

// conn is one connection to an upstream. One goroutine at a time uses it:
// the caller of RoundTrip, then the reader of the response body, then the
// pool.
type conn struct {
	nc     net.Conn        // TCP, or TLS over TCP
	sock   *sockio.Conn    // the TCP socket under nc, when sockio runs it; for the idle check
	raw    syscall.RawConn // otherwise the socket's raw conn, for the idle check; may be nil
	br     *bufio.Reader   // kept with the connection: it may hold what was read ahead
	key    hostKey
	reused bool      // it came from the pool
	idleAt time.Time // when it went into the pool

	peek  func(fd uintptr) bool // the idle check's peek, where there is one
	quiet bool                  // the last peek found nothing to read
}

func (c *conn) expire() { _ = c.nc.SetDeadline(aLongTimeAgo) }

func (c *conn) close() { _ = c.nc.Close() }

// dialConn connects to u's host, over TLS for https.
func (t *Transport) dialConn(ctx context.Context, key hostKey, u *url.URL) (*conn, error) {
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if key.scheme == "https" {
			port = "443"
		}
	}
	nc, err := t.dial(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, err // as the dialer says: errors.Is(err, syscall.ECONNREFUSED) holds
	}
	nc = sockio.Wrap(nc)
	c := &conn{nc: nc, key: key}
	if s, ok := nc.(*sockio.Conn); ok {
		c.sock = s
	} else if sc, ok := nc.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	if key.scheme == "https" {
		if c.nc, err = t.handshake(ctx, nc, host); err != nil {
			nc.Close()
			return nil, err
		}
	}
	c.br = bufio.NewReaderSize(c.nc, t.o.ReadBufferSize)
	return c, nil
}

// handshake runs the TLS client handshake on nc, bounded by
// TLSHandshakeTimeout and ctx. tls.Conn.HandshakeContext would start a
// goroutine to watch ctx; a deadline does the same job without one.
func (t *Transport) handshake(ctx context.Context, nc net.Conn, host string) (net.Conn, error) {
	cfg := t.tls
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	tc := tls.Client(nc, cfg)
	if d := t.o.TLSHandshakeTimeout; d > 0 {
		_ = nc.SetDeadline(time.Now().Add(d))
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(aLongTimeAgo) })
	err := tc.Handshake()
	if !stop() {
		return nil, ctx.Err()
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, &timeoutError{what: "in TLS handshake with " + host, err: err}
	case err != nil:
		return nil, fmt.Errorf("upstream: TLS handshake with %s: %w", host, err)
	}
	_ = nc.SetDeadline(time.Time{})
	return tc, nil
}
