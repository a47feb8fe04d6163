package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
)

// verdict is what the attempt loop does with an attempt's result.
type verdict int

const (
	relay verdict = iota // send this response to the client
	retry                // the endpoint failed before the first byte: try another
	gone                 // the client went away: stop, blame no one
)

// attempt sends the request to ep once. On relay, the caller owns resp.Body.
// open counts the attempts whose body the Transport may still be reading.
func attempt(ctx context.Context, r *http.Request, ep *endpoint.Endpoint, body []byte, open *atomic.Int32) (*http.Response, endpoint.Result, verdict) {
	out := &http.Request{
		Method:     r.Method,
		URL:        ep.Target(r.URL),
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     outboundHeader(r.Header, ep.Config.Auth, ep.Config.APIKey.Value()),
	}
	out.Host = out.URL.Host
	if body != nil {
		out.ContentLength = int64(len(body))
		// A NopCloser around a bytes.Reader is a body net/http knows to be
		// in memory (the fallback through an HTTP proxy is net/http's
		// Transport), so it writes the headers and the body in one go.
		// GetBody lets the transport send it again on a fresh connection
		// when a pooled one turns out to have been closed by the upstream.
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		// A Transport may go on reading the body after RoundTrip returns,
		// so the end of the write is learnt from a trace, not from Close.
		w := &bodyWrite{open: open}
		w.trace.WroteRequest = w.done
		open.Add(1)
		ctx = httptrace.WithClientTrace(ctx, &w.trace)
	}
	out = out.WithContext(ctx)

	resp, err := ep.Transport.RoundTrip(out)
	if err != nil {
		if ctx.Err() != nil {
			return nil, endpoint.Result{}, gone
		}
		return nil, endpoint.Result{Outcome: endpoint.Failure, Reason: describe(err)}, retry
	}
	// Every response says where the endpoint's rate limits stand; one
	// below the floor steers new requests elsewhere before any 429.
	now := time.Now()
	rl := endpoint.ReadRateLimit(resp.Header, ep.Policy.RatelimitFloor, now)
	ep.State.ObserveRateLimit(rl)
	outcome, again := classify(resp.StatusCode, ep.Config.Auth == config.AuthPassthrough)
	res := endpoint.Result{Outcome: outcome, Status: resp.StatusCode}
	if again {
		res.Reason = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
		if resp.StatusCode == 529 {
			res.Reason = "529 overloaded"
		}
		res.RetryAfter = rl.Cooldown(now, resp.StatusCode)
		// Drain a little so the connection can be reused, then let it go.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		resp.Body.Close()
		return nil, res, retry
	}
	return resp, res, relay
}

// bodyWrite tracks one attempt's sending of the buffered request body. A
// Transport may go on reading a request's body after RoundTrip returns (the
// RoundTripper contract: an upstream may answer before it has read it all),
// so the buffer may be pooled again only once every attempt's request has
// been written, which the Transport reports through WroteRequest.
type bodyWrite struct {
	trace httptrace.ClientTrace
	open  *atomic.Int32
	once  atomic.Bool
}

func (w *bodyWrite) done(httptrace.WroteRequestInfo) {
	if w.once.CompareAndSwap(false, true) {
		w.open.Add(-1)
	}
}

// classify maps an upstream status to what it says about the endpoint and
// whether another endpoint should get the request. A client error (400, 404,
// 413, 422, …) is the client's: returned as is, nobody penalised.
func classify(status int, passthrough bool) (o endpoint.Outcome, retry bool) {
	switch status {
	case http.StatusTooManyRequests, 529:
		return endpoint.Overloaded, true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return endpoint.Failure, true
	case http.StatusUnauthorized, http.StatusForbidden:
		if passthrough {
			// The client's own credential was refused: its problem, not the endpoint's.
			return endpoint.Success, false
		}
		return endpoint.Unauthorized, true
	}
	return endpoint.Success, false
}

// describe turns a transport error into a short phrase for logs and client
// messages. It names the kind of failure, never the URL, which may carry
// more than the operator meant to show.
func describe(err error) string {
	var ne net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset before response"
	case errors.As(err, &dnsErr):
		return "dns lookup failed"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout awaiting response"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	}
	return "transport error"
}
