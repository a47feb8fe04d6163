package health

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
)

// maxReply bounds how much of a check's reply is read: a real one is a few
// hundred bytes, and a broken relay may send anything.
const maxReply = 1 << 20

// anthropicVersion is the API version checks ask for.
const anthropicVersion = "2023-06-01"

// userAgent names checks in the upstream's logs, so that an operator of a
// relay can tell them from real requests.
const userAgent = "qccd-health-check"

// Check is the outcome of one health check.
type Check struct {
	Cluster, Endpoint string
	Kind              config.HealthKind
	At                time.Time     // when it started
	Duration          time.Duration // until it was decided
	Status            int           // the upstream's HTTP status; 0 when none came
	Outcome           endpoint.Outcome
	// Reason says why it failed: "invalid response", "timeout", "503
	// api_error: …". It is built from the status, the error type and a
	// redacted, truncated message, never from the key or the request.
	Reason     string
	RetryAfter time.Duration
	// Canceled: the check was stopped from outside (shutdown, or the admin
	// client left), so it says nothing about the endpoint.
	Canceled bool
}

// OK reports whether the endpoint passed.
func (c Check) OK() bool { return c.Outcome == endpoint.Success && !c.Canceled }

// Result names the outcome for metrics: ok, failure, overloaded or
// unauthorized.
func (c Check) Result() string {
	switch c.Outcome {
	case endpoint.Success:
		return "ok"
	case endpoint.Overloaded:
		return "overloaded"
	case endpoint.Unauthorized:
		return "unauthorized"
	}
	return "failure"
}

// result is the check as the state machine takes it.
func (c Check) result() endpoint.Result {
	return endpoint.Result{Outcome: c.Outcome, Status: c.Status, Reason: c.Reason, RetryAfter: c.RetryAfter, Probe: true}
}

// Checkable reports whether qccd can check ep. An endpoint with auth =
// passthrough has no key of its own, and qccd never keeps a client's key
// to borrow, so such an endpoint is judged by its traffic alone.
func Checkable(ep *endpoint.Endpoint) bool { return ep.Config.Auth != config.AuthPassthrough }

// check runs one check of the given kind on ep, bounded by h.Timeout.
func (s *Scheduler) check(ctx context.Context, h config.Health, kind config.HealthKind, ep *endpoint.Endpoint) Check {
	c := Check{Cluster: ep.Cluster, Endpoint: ep.Name, Kind: kind, At: time.Now()}
	cctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	switch kind {
	case config.HealthVerify:
		code := newCode()
		s.exchange(cctx, ep, http.MethodPost, "/v1/messages", verifyBody(h.Model, code), &c, func(body []byte) string {
			return checkReply(body, code, ep.Config.APIKey.Value())
		})
	case config.HealthModels:
		s.exchange(cctx, ep, http.MethodGet, "/v1/models", nil, &c, func(body []byte) string {
			return checkModels(body, ep.Config.APIKey.Value())
		})
	}
	c.Duration = time.Since(c.At)
	c.Canceled = ctx.Err() != nil
	return c
}

// exchange sends one check request to ep, with ep's own transport and
// credentials as the proxy would, and fills c from the answer. valid judges
// a 200's body and returns why it is not a valid answer, or "".
func (s *Scheduler) exchange(ctx context.Context, ep *endpoint.Endpoint, method, path string, body []byte, c *Check, valid func([]byte) string) {
	u := ep.Target(&url.URL{Path: path})
	h := http.Header{
		"Anthropic-Version": {anthropicVersion},
		"Accept":            {"application/json"},
		"User-Agent":        {userAgent},
	}
	ep.SetCredentials(h)
	req := &http.Request{
		Method:     method,
		URL:        u,
		Host:       u.Host,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
	}
	if body != nil {
		h["Content-Type"] = []string{"application/json"}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	resp, err := ep.Transport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		c.Outcome, c.Reason = endpoint.Failure, describe(ctx, err)
		return
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	c.Status = resp.StatusCode

	now := time.Now()
	rl := endpoint.ReadRateLimit(resp.Header, ep.Policy.RatelimitFloor, now)
	ep.State.ObserveRateLimit(rl)

	key := ep.Config.APIKey.Value()
	switch resp.StatusCode {
	case http.StatusOK:
		if err != nil {
			c.Outcome, c.Reason = endpoint.Failure, "reply broke off: "+describe(ctx, err)
			return
		}
		if why := valid(reply); why != "" {
			c.Outcome, c.Reason = endpoint.Failure, why
			return
		}
		c.Outcome = endpoint.Success
	case http.StatusTooManyRequests, 529:
		c.Outcome, c.Reason = endpoint.Overloaded, errorReason(resp.StatusCode, reply, key)
		c.RetryAfter = rl.Cooldown(now, resp.StatusCode)
	case http.StatusUnauthorized, http.StatusForbidden:
		c.Outcome, c.Reason = endpoint.Unauthorized, errorReason(resp.StatusCode, reply, key)
	default:
		// A 5xx, or a 4xx to a check the endpoint should have answered,
		// such as a model it does not serve: either way it cannot take
		// the cluster's requests.
		c.Outcome, c.Reason = endpoint.Failure, errorReason(resp.StatusCode, reply, key)
	}
}

// ErrNotCheckable is Probe's answer for an endpoint without a key of its own.
var ErrNotCheckable = errors.New("endpoint has auth = passthrough and no key of its own; qccd cannot check it")
