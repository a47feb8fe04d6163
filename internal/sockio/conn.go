// Package sockio reads and writes TCP connections of the data path without
// the runtime's system-call bookkeeping.
//
// Every read(2) and write(2) that package net makes goes through the
// runtime's entersyscall, which wakes the sysmon thread when the process
// was idle. A proxy serving one request at a time goes idle between the
// client's request and the upstream's answer, so each request wakes sysmon,
// which then polls every 20 µs until it sees the process idle again: on
// two shared cores that was a fifth of qccd's CPU per request, taken from
// the client and the upstream waiting for those cores (see
// docs/performance.md). A read or write of a non-blocking socket never
// blocks, so entersyscall has nothing to hand off; Conn issues those calls
// raw, through the connection's syscall.RawConn, which keeps what matters
// of package net: the poller parks the goroutine until the socket is ready,
// deadlines, Close unblocking a reader, and the error values callers test
// (net.Error timeouts, os.ErrDeadlineExceeded, net.ErrClosed).
//
// Under the race detector the calls go through package syscall, which tells
// the detector about the memory they touch and about the order that a write
// to a socket and a read of its peer establish; the tests, whose clients and
// servers share a process, rely on that order.
package sockio

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Conn is a *net.TCPConn whose Read, Write and WriteBuffers issue the
// system calls raw (see the package doc). It implements net.Conn and the
// interfaces callers look for on a TCP connection (CloseWrite,
// syscall.Conn).
type Conn struct {
	tcp *net.TCPConn
	raw syscall.RawConn

	// The operation in progress on each side, and the method values that
	// perform them, bound once so that a call allocates nothing. net's own
	// locks cover only each callback, so rmu and wmu hold the operation
	// together from start to end, as net's locks hold a Read or a Write.
	rmu    sync.Mutex
	r      op
	quiet  bool // what the last Quiet found
	wmu    sync.Mutex
	w      op
	vec    [maxIovecs]syscall.Iovec // WriteBuffers'
	rf, wf func(uintptr) bool
	qf     func(uintptr) bool
}

// op is one read or write: its buffers, what it moved, how it ended.
type op struct {
	p     []byte
	iov   []syscall.Iovec // for WriteBuffers
	n     int
	errno syscall.Errno
}

// Wrap returns nc as a *Conn when it is a TCP connection on a platform
// where raw calls are supported, and nc itself otherwise.
func Wrap(nc net.Conn) net.Conn {
	tcp, ok := nc.(*net.TCPConn)
	if !ok || !supported {
		return nc
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return nc
	}
	c := &Conn{tcp: tcp, raw: raw}
	c.rf, c.wf, c.qf = c.readFD, c.writeFD, c.quietFD
	return c
}

// Quiet reports whether nothing waits to be read, without waiting. On an
// idle connection anything readable is the peer closing it (EOF, a reset,
// a TLS close_notify, an HTTP 408), so a pool checks this before it hands
// the connection out.
func (c *Conn) Quiet() bool {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.quiet = false
	return c.raw.Read(c.qf) == nil && c.quiet
}

func (c *Conn) quietFD(fd uintptr) bool {
	c.quiet = peek(fd) == syscall.EAGAIN
	return true // done: never wait for readability
}

// Read reads as (*net.TCPConn).Read does.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.r = op{p: p}
	err := c.raw.Read(c.rf)
	n, errno := c.r.n, c.r.errno
	c.r = op{}
	switch {
	case err != nil: // closed, or past the deadline: net's own error
		return 0, renameOp(err, "read")
	case errno != 0:
		return 0, c.opError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *Conn) readFD(fd uintptr) bool {
	for {
		n, errno := read(fd, c.r.p)
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // park until readable
		}
		c.r.n, c.r.errno = n, errno
		return true
	}
}

// Write writes all of p, as (*net.TCPConn).Write does.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.w = op{p: p}
	err := c.raw.Write(c.wf)
	n, errno := c.w.n, c.w.errno
	c.w = op{}
	switch {
	case err != nil:
		return n, renameOp(err, "write")
	case errno != 0:
		return n, c.opError("write", errno)
	}
	return n, nil
}

func (c *Conn) writeFD(fd uintptr) bool {
	for len(c.w.p) > 0 || len(c.w.iov) > 0 {
		var n int
		var errno syscall.Errno
		if c.w.iov != nil {
			n, errno = writev(fd, c.w.iov)
		} else {
			n, errno = write(fd, c.w.p)
		}
		switch errno {
		case 0:
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // park until writable
		default:
			c.w.errno = errno
			return true
		}
		if n == 0 {
			c.w.errno = syscall.EIO // never for a socket; must not spin
			return true
		}
		c.w.n += n
		if c.w.iov != nil {
			c.w.iov = consume(c.w.iov, n)
		} else {
			c.w.p = c.w.p[n:]
		}
	}
	return true
}

// maxIovecs bounds one writev(2); the server's responses need at most five.
const maxIovecs = 16

// WriteBuffers writes every byte of bufs with writev(2), as
// bufs.WriteTo(tcpConn) does, and empties bufs.
func (c *Conn) WriteBuffers(bufs *net.Buffers) (int64, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var total int64
	for len(*bufs) > 0 {
		iov, next := c.vec[:0], 0 // next: the buffers this writev covers
		for _, b := range *bufs {
			if len(iov) == maxIovecs {
				break
			}
			next++
			if len(b) > 0 {
				v := syscall.Iovec{Base: &b[0]}
				v.SetLen(len(b))
				iov = append(iov, v)
			}
		}
		if len(iov) > 0 {
			c.w = op{iov: iov}
			err := c.raw.Write(c.wf)
			n, errno := c.w.n, c.w.errno
			c.w = op{}
			total += int64(n)
			if err != nil {
				err = renameOp(err, "writev")
			} else if errno != 0 {
				err = c.opError("writev", errno)
			}
			if err != nil {
				dropBytes(bufs, n)
				return total, err
			}
		}
		*bufs = (*bufs)[next:]
	}
	return total, nil
}

// dropBytes drops the first n bytes from bufs.
func dropBytes(bufs *net.Buffers, n int) {
	for len(*bufs) > 0 && n >= len((*bufs)[0]) {
		n -= len((*bufs)[0])
		*bufs = (*bufs)[1:]
	}
	if len(*bufs) > 0 {
		(*bufs)[0] = (*bufs)[0][n:]
	}
}

// consume drops the first n bytes from iov.
func consume(iov []syscall.Iovec, n int) []syscall.Iovec {
	for len(iov) > 0 && n >= int(iov[0].Len) {
		n -= int(iov[0].Len)
		iov = iov[1:]
	}
	if len(iov) > 0 && n > 0 {
		iov[0].Base = addPtr(iov[0].Base, n)
		iov[0].SetLen(int(iov[0].Len) - n)
	}
	if len(iov) == 0 {
		return nil
	}
	return iov
}

// renameOp gives an error of the RawConn ("raw-read tcp …: i/o timeout")
// the operation's name that (*net.TCPConn) would have given it, for the
// logs that show it.
func renameOp(err error, op string) error {
	if oe, ok := err.(*net.OpError); ok && oe.Op != op {
		renamed := *oe
		renamed.Op = op
		return &renamed
	}
	return err
}

// opError is the error (*net.TCPConn) returns for a failed call.
func (c *Conn) opError(op string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.tcp.LocalAddr(), Addr: c.tcp.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
}

// Close closes the connection; a Read or Write blocked on it returns.
func (c *Conn) Close() error { return c.tcp.Close() }

// CloseWrite shuts down the writing side.
func (c *Conn) CloseWrite() error { return c.tcp.CloseWrite() }

// LocalAddr returns the local address.
func (c *Conn) LocalAddr() net.Addr { return c.tcp.LocalAddr() }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.tcp.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.tcp.SetDeadline(t) }

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.tcp.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.tcp.SetWriteDeadline(t) }

// SyscallConn returns the underlying connection's raw conn.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return c.raw, nil }

// TCP returns the wrapped connection.
func (c *Conn) TCP() *net.TCPConn { return c.tcp }
