package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
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
// The endpoint's transport (package upstream) is done with body when it
// returns, so the caller may pool body again at once.
func attempt(ctx context.Context, r *http.Request, ep *endpoint.Endpoint, body []byte) (*http.Response, endpoint.Result, verdict) {
	// Built here and copied by WithContext, the only way to give a request
	// its context: this one stays on the stack.
	base := http.Request{
		Method:     r.Method,
		URL:        ep.Target(r.URL),
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     outboundHeader(r.Header, ep.Config.Auth, ep.Config.APIKey.Value()),
	}
	base.Host = base.URL.Host
	if body != nil {
		base.ContentLength = int64(len(body))
		// A NopCloser around a bytes.Reader is a body net/http knows to be
		// in memory (the fallback through an HTTP proxy is net/http's
		// Transport), so it writes the headers and the body in one go.
		// GetBody lets the transport send it again on a fresh connection
		// when a pooled one turns out to have been closed by the upstream.
		base.Body = io.NopCloser(bytes.NewReader(body))
		base.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	out := base.WithContext(ctx)

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
