package stats

import (
	"strconv"

	"github.com/qcc-dev/qcc/internal/sse"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// class is a request's status class, by which the admin API groups them.
type class uint8

const (
	classClientGone class = iota
	class1xx
	class2xx
	class3xx
	class4xx
	class5xx
	classOther // a status outside 100-599, which no request should end with
	numClasses
)

var classNames = [numClasses]string{"client_gone", "1xx", "2xx", "3xx", "4xx", "5xx", "other"}

// classOf classes a finished request. A client that left is its own class
// whatever status it had been sent, since it did not get the whole answer.
func classOf(status int, clientGone bool) class {
	switch {
	case clientGone:
		return classClientGone
	case status >= 100 && status < 600:
		return class(status / 100)
	}
	return classOther
}

// counts is what happened to one cluster or endpoint in one stretch of
// time: a slot of a window, or the totals.
type counts struct {
	requests     int64
	byClass      [numClasses]int64
	byCode       map[int]int64
	attempts     int64
	failovers    int64
	streamErrors int64
	tokens       sse.Usage
	ttfb         hist
	duration     hist
}

// reset empties c for reuse by a new slot, keeping the map's memory.
func (c *counts) reset() {
	m := c.byCode
	clear(m)
	*c = counts{byCode: m}
}

// request counts one finished request answered as status.
func (c *counts) request(ev *Event) {
	c.requests++
	c.byClass[classOf(ev.Status, ev.ClientGone)]++
	if c.byCode == nil {
		c.byCode = make(map[int]int64, 4)
	}
	c.byCode[ev.Status]++
	if ev.StreamError {
		c.streamErrors++
	}
	c.tokens = c.tokens.Add(ev.Usage)
	if ev.TTFB > 0 {
		c.ttfb.observe(ev.TTFB)
	}
	c.duration.observe(ev.Duration)
}

// add merges o into c.
func (c *counts) add(o *counts) {
	c.requests += o.requests
	for i, n := range o.byClass {
		c.byClass[i] += n
	}
	if len(o.byCode) > 0 && c.byCode == nil {
		c.byCode = make(map[int]int64, len(o.byCode))
	}
	for code, n := range o.byCode {
		c.byCode[code] += n
	}
	c.attempts += o.attempts
	c.failovers += o.failovers
	c.streamErrors += o.streamErrors
	c.tokens = c.tokens.Add(o.tokens)
	c.ttfb.add(&o.ttfb)
	c.duration.add(&o.duration)
}

// summary renders c for the admin API; in-flight is the caller's to fill.
func (c *counts) summary() adminapi.StatsSummary {
	s := adminapi.StatsSummary{
		Requests:     c.requests,
		Attempts:     c.attempts,
		Failovers:    c.failovers,
		StreamErrors: c.streamErrors,
		Tokens: adminapi.Tokens{
			Input:         c.tokens.Input,
			Output:        c.tokens.Output,
			CacheRead:     c.tokens.CacheRead,
			CacheCreation: c.tokens.CacheCreation,
		},
		TTFB:     quantiles(&c.ttfb),
		Duration: quantiles(&c.duration),
	}
	for i, n := range c.byClass {
		if n > 0 {
			if s.ByClass == nil {
				s.ByClass = map[string]int64{}
			}
			s.ByClass[classNames[i]] = n
		}
	}
	for code, n := range c.byCode {
		if n > 0 {
			if s.ByCode == nil {
				s.ByCode = map[string]int64{}
			}
			s.ByCode[strconv.Itoa(code)] = n
		}
	}
	return s
}

func quantiles(h *hist) adminapi.Quantiles {
	return adminapi.Quantiles{
		P50: adminapi.Duration(h.quantile(0.50)),
		P95: adminapi.Duration(h.quantile(0.95)),
		P99: adminapi.Duration(h.quantile(0.99)),
	}
}
