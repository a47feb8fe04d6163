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
// needed per connection; one timer per pool, armed while any connection is
// idle, closes those past the timeout that no checkout came for, so that an
// endpoint nobody uses does not hold sockets its server closed long ago.
type pool struct {
	mu      sync.Mutex
	idle    map[hostKey][]*conn
	max     int
	timeout time.Duration
	sweep   *time.Timer // nil until the first put
	armed   bool        // sweep will fire
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
	p.arm(p.timeout)
	p.mu.Unlock()
}

// arm makes sure the sweep fires within d; p.mu is held.
func (p *pool) arm(d time.Duration) {
	switch {
	case p.timeout <= 0 || p.armed:
	case p.sweep == nil:
		p.sweep = time.AfterFunc(d, p.sweepIdle)
		p.armed = true
	default:
		p.sweep.Reset(d)
		p.armed = true
	}
}

// sweepIdle closes the connections idle past the timeout, and comes back
// when the oldest of the others will be.
func (p *pool) sweepIdle() {
	now := time.Now()
	var stale []*conn
	p.mu.Lock()
	p.armed = false
	oldest := now
	for key, conns := range p.idle {
		n := 0
		for n < len(conns) && now.Sub(conns[n].idleAt) > p.timeout {
			n++
		}
		stale = append(stale, conns[:n]...)
		clear(conns[:n])
		if conns = conns[n:]; len(conns) == 0 {
			delete(p.idle, key)
			continue
		}
		p.idle[key] = conns
		if conns[0].idleAt.Before(oldest) {
			oldest = conns[0].idleAt
		}
	}
	if len(p.idle) > 0 {
		p.arm(oldest.Add(p.timeout).Sub(now) + time.Millisecond)
	}
	p.mu.Unlock()
	for _, c := range stale {
		c.close()
	}
}

// closeAll closes every idle connection.
func (p *pool) closeAll() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	if p.sweep != nil {
		p.sweep.Stop()
		p.armed = false
	}
	p.mu.Unlock()
	for _, conns := range idle {
		for _, c := range conns {
			c.close()
		}
	}
}
