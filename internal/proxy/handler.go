// Package proxy is qccd's data path: it authenticates the client, buffers
// the request body for replay, picks endpoints, retries failures that
// happened before the first byte, and relays the response, streaming SSE
// event by event.
package proxy

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/affinity"
	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/internal/sse"
)

// Options configures a Handler.
type Options struct {
	// Cluster is the name of the cluster this listener serves.
	Cluster string
	// Snapshot returns the current runtime snapshot. A request keeps the
	// one it started with.
	Snapshot func() *cluster.Snapshot
	Log      zerolog.Logger
	// OnRecord, when set, receives every finished request's record. It runs
	// on the request goroutine and must not block.
	OnRecord func(*Record)
}

// Handler serves one cluster's listener.
type Handler struct {
	opts   Options
	bodies bodyPool // request bodies, relay buffers and usage captures
}

// New returns a Handler.
func New(opts Options) *Handler {
	return &Handler{opts: opts}
}

// ServeHTTP proxies one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Record{Cluster: h.opts.Cluster, Method: r.Method, Path: r.URL.Path, Start: time.Now()}
	defer h.finish(&rec)

	c := h.opts.Snapshot().Cluster(h.opts.Cluster)
	if c == nil {
		// The cluster was removed by a reload while this listener drains.
		rec.Status = http.StatusServiceUnavailable
		writeError(w, rec.Status, "qccd: cluster "+h.opts.Cluster+" is being removed", true, 1)
		return
	}
	if c.RequiresToken() && !c.ValidToken(clientToken(r.Header)) {
		rec.Status = http.StatusUnauthorized
		writeError(w, rec.Status, "qccd: missing or invalid client token for cluster "+c.Name(), false, 0)
		return
	}

	bodyBuf, err := h.bodies.readBody(r, c.Config.MaxBodyBytes)
	// Once only: respond may release the body early, a stream being long.
	releaseBody := func() {
		h.bodies.put(bodyBuf)
		bodyBuf = nil
	}
	defer releaseBody()
	switch {
	case errors.Is(err, errBodyTooLarge):
		rec.Status = http.StatusRequestEntityTooLarge
		writeError(w, rec.Status, fmt.Sprintf("qccd: request body exceeds max_body_bytes (%d bytes)", c.Config.MaxBodyBytes), false, 0)
		return
	case err != nil:
		rec.Status, rec.ClientGone = 499, true
		return
	}
	var body []byte
	if bodyBuf != nil {
		body = *bodyBuf
	}

	ep, resp := h.forward(w, r, c, body, &rec)
	if resp == nil {
		return // forward has answered
	}
	defer ep.State.End() // deferred: an aborted body panics out of respond
	h.respond(w, r, body, releaseBody, c, ep, resp, &rec)
}

// forward sends the request to the cluster's endpoints until one answers
// with something to relay, which it returns with the endpoint it came from;
// the caller must then call ep.State.End. When none does, it answers the
// client itself and returns nil.
//
// It is apart from ServeHTTP so that its frame is gone while the response
// is relayed: a stream parks its goroutine in the relay for minutes, and
// the less stack lies below the relay then, the more the garbage collector
// can shrink that goroutine's stack (docs/performance.md).
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, c *cluster.Cluster, body []byte, rec *Record) (*endpoint.Endpoint, *http.Response) {
	var sessionKey uint64
	var preferred *endpoint.Endpoint
	if c.Affinity != nil {
		if k := affinity.Key(r.Header, body); k != nil {
			sessionKey = c.Affinity.Hash(k)
			if id, ok := c.Affinity.Get(rec.Start, sessionKey); ok {
				preferred = c.ByIdentity(id)
			}
		}
	}

	ctx := r.Context()
	var triedBuf [4]*endpoint.Endpoint
	tried := triedBuf[:0]
	var failures []failure
	deadline := rec.Start.Add(c.Config.RetryWindow)
	for len(tried) < c.Config.MaxAttempts {
		now := time.Now()
		if len(tried) > 0 && now.After(deadline) {
			failures = append(failures, failure{reason: "retry_window exhausted"})
			break
		}
		ep, adm := c.Balancer.Next(now, tried, preferred)
		if ep == nil {
			break
		}
		tried = append(tried, ep)
		rec.Attempts = len(tried)
		rec.Endpoint = ep.Name

		ep.State.Begin()
		resp, res, v := attempt(ctx, r, ep, body)
		res.Admission = adm
		switch v {
		case gone:
			ep.State.End()
			ep.State.Release(adm)
			rec.Status, rec.ClientGone = 499, true
			return nil, nil
		case retry:
			ep.State.End()
			ep.State.Report(time.Now(), c.Policy, res)
			failures = append(failures, failure{endpoint: ep.Name, reason: res.Reason, status: res.Status})
			rec.Failed = append(rec.Failed, FailedAttempt{Endpoint: ep.Name, Status: res.Status})
			h.opts.Log.Debug().Str("cluster", c.Name()).Str("endpoint", ep.Name).Str("reason", res.Reason).Msg("attempt failed, trying another endpoint")
			continue
		}
		ttfb := time.Since(now)
		ep.State.ObserveTTFB(ttfb)
		ep.State.Report(time.Now(), c.Policy, res)
		if sessionKey != 0 && ep != preferred && resp.StatusCode < 300 {
			c.Affinity.Set(time.Now(), sessionKey, ep.ID)
		}
		return ep, resp
	}
	h.allFailed(w, c, len(tried), failures, rec)
	return nil, nil
}

// respond relays resp, which came from ep, to the client. It calls
// releaseBody, after which body must not be used, as soon as it no longer
// needs the request body: a stream may last many minutes.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, body []byte, releaseBody func(), c *cluster.Cluster, ep *endpoint.Endpoint, resp *http.Response, rec *Record) {
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	rec.TTFB = time.Since(rec.Start)

	if resp.StatusCode == http.StatusNotFound && r.URL.Path == countTokensPath {
		// Many relays lack count_tokens; Claude Code only needs an estimate.
		rec.Status = http.StatusOK
		writeTokenEstimate(w, body)
		return
	}
	releaseBody()

	copyResponseHeader(w.Header(), resp.Header)
	rec.Stream = isEventStream(resp.Header)
	// A compressed stream (a relay honouring Claude Code's Accept-Encoding)
	// cannot be framed event by event without inflating it; its bytes pass
	// through as they come, flushed, and a break aborts the connection.
	framed := rec.Stream && resp.Header.Get("Content-Encoding") == ""
	if framed {
		// Framing drops a partial event and adds an error event when the
		// upstream breaks off, so the upstream's length no longer holds; a
		// stream is sent chunked, as the API sends it.
		delete(w.Header(), "Content-Length")
	}
	w.WriteHeader(resp.StatusCode)

	if framed {
		// A stream may stay open for many minutes, a thousand at once. What
		// it no longer needs should not last that long: the upstream
		// request (its header map and URL, reachable from resp) and the
		// upstream's header map, now copied into w's.
		resp.Request, resp.Header = nil, nil
		bp := h.bodies.get(streamBufSize)
		defer h.bodies.put(bp)
		var t sse.Tracker
		end, reason := relayStream(r.Context(), w, resp.Body, *bp, &t)
		rec.Usage = t.Usage()
		switch end {
		case streamBroken:
			rec.StreamError = reason
			ep.State.Report(time.Now(), c.Policy, endpoint.Result{Outcome: endpoint.Failure, Reason: reason})
		case streamClientGone:
			rec.ClientGone = true
		case streamDone:
			if t.Errored() {
				rec.StreamError = "upstream error event: " + t.ErrorType()
			} else if t.Stopped() && t.Usage().Output > 0 {
				// A whole message with output: proof enough that the
				// endpoint works to spare it a health check.
				ep.State.Served(time.Now())
			}
		}
		return
	}

	bp := h.bodies.get(relayBufSize)
	defer h.bodies.put(bp)
	var capture *[]byte
	if resp.StatusCode == http.StatusOK && isJSON(resp.Header) && resp.ContentLength <= maxCapture {
		size := relayBufSize // unknown length: grows as it comes, up to maxCapture
		if resp.ContentLength >= 0 {
			size = int(resp.ContentLength)
		}
		capture = h.bodies.get(size)
		defer h.bodies.put(capture)
	}
	err := relayBody(r.Context(), w, resp.Body, (*bp)[:relayBufSize], capture, resp.ContentLength < 0 || rec.Stream)
	switch {
	case errors.Is(err, errBodyBroken):
		rec.StreamError = "upstream body broke off"
		ep.State.Report(time.Now(), c.Policy, endpoint.Result{Outcome: endpoint.Failure, Reason: rec.StreamError})
		h.finish(rec)
		rec.logged = true
		// Aborting the connection is the only way to tell an HTTP/1.1
		// client that a body with a status line of 200 is incomplete.
		panic(http.ErrAbortHandler)
	case err != nil:
		rec.ClientGone = true
	case capture != nil:
		rec.Usage, _ = jsonUsage(*capture, resp.Header.Get("Content-Encoding"))
	}
	if rec.Usage.Output > 0 {
		// A complete message with output, not merely a 200; see above.
		ep.State.Served(time.Now())
	}
}

// maxCapture bounds how much of a JSON response is kept to read its usage.
const maxCapture = 256 << 10

// failure is one failed attempt, for the all-failed answer.
type failure struct {
	endpoint string
	reason   string
	status   int // upstream status, 0 for a transport error
}

func (f failure) String() string {
	if f.endpoint == "" {
		return f.reason
	}
	return f.endpoint + ": " + f.reason
}

// allFailed answers when no endpoint could serve the request: 429 when
// every attempt was rate limited, 529 when every attempt was rate limited
// or overloaded, 503 otherwise. The message says how many endpoints were
// tried and why each failed.
func (h *Handler) allFailed(w http.ResponseWriter, c *cluster.Cluster, tried int, failures []failure, rec *Record) {
	status := http.StatusServiceUnavailable
	if len(failures) > 0 {
		status = http.StatusTooManyRequests
		for _, f := range failures {
			switch {
			case f.status == 529 && status == http.StatusTooManyRequests:
				status = 529
			case f.status != 529 && f.status != http.StatusTooManyRequests:
				status = http.StatusServiceUnavailable
			}
		}
	}
	var msg string
	if tried == 0 {
		msg = fmt.Sprintf("qccd: no endpoint of cluster %s is available (%s)", c.Name(), summarize(c))
	} else {
		reasons := make([]string, len(failures))
		for i, f := range failures {
			reasons[i] = f.String()
		}
		msg = fmt.Sprintf("qccd: tried %d of %d endpoints of cluster %s, none could serve the request (%s)",
			tried, len(c.Endpoints), c.Name(), strings.Join(reasons, "; "))
	}
	rec.Status = status
	rec.Err = msg
	writeError(w, status, msg, true, retryAfterSeconds(c, time.Now()))
}

// summarize counts a cluster's endpoints by state, e.g. "2 cooling-down, 1 auth-failed".
func summarize(c *cluster.Cluster) string {
	var counts [endpoint.Disabled + 1]int
	for _, ep := range c.Endpoints {
		counts[ep.State.Status()]++
	}
	var parts []string
	for s, n := range counts {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, endpoint.Status(s)))
		}
	}
	return strings.Join(parts, ", ")
}

// retryAfterSeconds is when the first cooling-down endpoint returns, so
// clients that honour Retry-After come back when it is worth it.
func retryAfterSeconds(c *cluster.Cluster, now time.Time) int {
	var first time.Time
	for _, ep := range c.Endpoints {
		if u := ep.State.CooldownUntil(); !u.IsZero() && (first.IsZero() || u.Before(first)) {
			first = u
		}
	}
	if first.IsZero() {
		return 0
	}
	return max(1, int(math.Ceil(first.Sub(now).Seconds())))
}
