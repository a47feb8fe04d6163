package upstream

import (
	"sync"
	"time"
)

// hostKey names the connections that can carry a request: same scheme, same
// host and port as written in the URL.
type hostKey struct{ scheme, host string }

// pool keeps idle connections per host, oldest first, and hands out the
// newest: a connection just used is the least likely to have been closed by
// the server. Staleness is checked at checkout, so no goroutine or timer is
// needed per connection.
type pool struct {
	mu      sync.Mutex
	idle    map[hostKey][]*conn
	max     int
	timeout time.Duration
}

// get returns a fresh, live idle connection for key, or nil. Connections
// found stale or dead on the way are closed.
func (p *pool) get(key hostKey, now time.Time) *conn {
	for {
		c, fresh := p.pop(key, now)
		if c == nil {
			return nil
		}
		if fresh && c.alive() {
			c.reused = true
			return c
		}
		c.close()
	}
}

// pop removes the oldest connection for key if it has been idle too long,
// else the newest, and says which.
func (p *pool) pop(key hostKey, now time.Time) (c *conn, fresh bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	conns := p.idle[key]
	if len(conns) == 0 {
		return nil, false
	}
	if p.timeout > 0 && now.Sub(conns[0].idleAt) > p.timeout {
		c, conns[0] = conns[0], nil
		p.idle[key] = conns[1:]
		return c, false
	}
	last := len(conns) - 1
	c, conns[last] = conns[last], nil
	p.idle[key] = conns[:last]
	return c, true
}

// put makes c idle, or closes it if its host already has enough.
func (p *pool) put(c *conn, now time.Time) {
	p.mu.Lock()
	conns := p.idle[c.key]
	if len(conns) >= p.max {
		p.mu.Unlock()
		c.close()
		return
	}
	if p.idle == nil {
		p.idle = make(map[hostKey][]*conn)
	}
	c.idleAt = now
	p.idle[c.key] = append(conns, c)
	p.mu.Unlock()
}

// closeAll closes every idle connection.
func (p *pool) closeAll() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, conns := range idle {
		for _, c := range conns {
			c.close()
		}
	}
}
