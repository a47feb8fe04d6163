//go:build !linux && !darwin

package upstream

// alive reports whether an idle connection can still carry a request. Here
// only what was already read ahead tells; a close the server made while the
// connection was idle shows when it is used, and is retried then.
func (c *conn) alive() bool { return c.br.Buffered() == 0 }
