//go:build linux || darwin

package upstream

import "syscall"

// alive reports whether an idle connection can still carry a request. An
// idle connection has nothing to read, so anything readable is the server
// closing it (EOF, a reset, a TLS close_notify or a 408): without a goroutine
// reading each idle connection, as net/http has, a non-blocking peek at
// checkout is how a close is noticed before a request is lost to it.
func (c *conn) alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if c.sock != nil {
		return c.sock.Quiet()
	}
	if c.raw == nil {
		return true
	}
	if c.peek == nil {
		c.peek = c.peekFD // bound once per connection, so that a check allocates nothing
	}
	c.quiet = false
	return c.raw.Read(c.peek) == nil && c.quiet
}

func (c *conn) peekFD(fd uintptr) bool {
	var buf [1]byte
	_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	c.quiet = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
	return true // done: never wait for readability
}
