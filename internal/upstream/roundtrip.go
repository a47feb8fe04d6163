package upstream

import (
	"net/http"
	"net/http/httptrace"
	"time"
)

// roundTrip is one RoundTrip call's bookkeeping across its attempts: the
// caller is owed one WroteRequest and one Close of its body, however many
// connections the request takes.
type roundTrip struct {
	req      *http.Request // the caller's
	out      *http.Request // as written: req without its trace, or with a rewound body
	trace    *httptrace.ClientTrace
	sent     bool  // req.Write has had the body, and closed it
	werr     error // the last write's error
	reported bool
}

// wrote reports the end of the request's writing, once.
func (rt *roundTrip) wrote(err error) {
	if rt.reported {
		return
	}
	rt.reported = true
	if rt.trace != nil && rt.trace.WroteRequest != nil {
		rt.trace.WroteRequest(httptrace.WroteRequestInfo{Err: err})
	}
}

// fail keeps the RoundTripper contract on a failure: the body is closed and
// WroteRequest has been called.
func (rt *roundTrip) fail(err error) error {
	if rt.sent {
		rt.wrote(rt.werr)
		return err
	}
	if rt.req.Body != nil {
		rt.req.Body.Close()
	}
	rt.wrote(err)
	return err
}

// gotConn reports each connection the request is sent on.
func (rt *roundTrip) gotConn(c *conn) {
	if rt.trace == nil || rt.trace.GotConn == nil {
		return
	}
	info := httptrace.GotConnInfo{Conn: c.nc, Reused: c.reused, WasIdle: c.reused}
	if c.reused {
		info.IdleTime = time.Since(c.idleAt)
	}
	rt.trace.GotConn(info)
}

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// rewind returns req with a fresh body for a retry, leaving req as it was.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	b, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r := *req
	r.Body = b
	return &r, nil
}

// idempotent reports whether sending req twice does no harm, by net/http's
// rule: a safe method, or an idempotency key the server deduplicates by.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}
