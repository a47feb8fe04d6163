package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// DefaultSocket is where qccd serves its admin API unless admin_socket
// says otherwise.
const DefaultSocket = "/run/qccd/admin.sock"

// maxBody caps what the client reads of one answer; the biggest, a status
// of a large deployment, is a few hundred kilobytes.
const maxBody = 32 << 20

// Client talks to one qccd's admin API. Its methods are safe for
// concurrent use.
type Client struct {
	addr  string // as given, for error messages
	base  *url.URL
	http  *http.Client
	token string
}

// Option configures a Client.
type Option func(*Client)

// WithToken sends token as a Bearer token, as the TCP admin listener
// requires when [daemon] admin_token is set.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient replaces the http.Client used for http(s):// addresses.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// NewClient returns a client for addr: a unix socket path such as
// /run/qccd/admin.sock, or an http:// or https:// URL of admin_listen.
func NewClient(addr string, opts ...Option) (*Client, error) {
	c := &Client{addr: addr}
	switch {
	case addr == "":
		return nil, errors.New("admin API address is empty")
	case strings.HasPrefix(addr, "http://"), strings.HasPrefix(addr, "https://"):
		u, err := url.Parse(addr)
		if err != nil {
			return nil, fmt.Errorf("admin API address %q: %w", addr, err)
		}
		if u.Host == "" {
			return nil, fmt.Errorf("admin API address %q has no host", addr)
		}
		u.Path = strings.TrimRight(u.Path, "/")
		c.base = u
		c.http = &http.Client{}
	default:
		// The host part is never dialled; it only makes a well-formed URL.
		c.base = &url.URL{Scheme: "http", Host: "qccd"}
		path := addr
		var d net.Dialer
		c.http = &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "unix", path)
			},
			DisableCompression: true,
		}}
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Addr returns the address the client was made for.
func (c *Client) Addr() string { return c.addr }

// APIError is an answer of the admin API other than 2xx: the daemon was
// reached and said no.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	Message    string // the daemon's explanation
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// ConnError means the admin API could not be reached or did not answer
// with a readable reply: qccd is probably not running, or not at Addr.
type ConnError struct {
	Addr string
	Err  error
}

func (e *ConnError) Error() string { return "admin API at " + e.Addr + ": " + e.Err.Error() }

func (e *ConnError) Unwrap() error { return e.Err }

// Status returns GET /v1/status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var v Status
	return &v, c.do(ctx, http.MethodGet, "/v1/status", nil, &v)
}

// Clusters returns GET /v1/clusters.
func (c *Client) Clusters(ctx context.Context) ([]Cluster, error) {
	var v []Cluster
	return v, c.do(ctx, http.MethodGet, "/v1/clusters", nil, &v)
}

// Endpoints returns GET /v1/endpoints: every endpoint, or those of one
// cluster when cluster is not empty.
func (c *Client) Endpoints(ctx context.Context, cluster string) ([]Endpoint, error) {
	var q url.Values
	if cluster != "" {
		q = url.Values{"cluster": {cluster}}
	}
	var v []Endpoint
	return v, c.do(ctx, http.MethodGet, "/v1/endpoints", q, &v)
}

// Stats returns GET /v1/stats for window: "1m", "5m", "1h" or "total";
// empty means the daemon's default, 5m.
func (c *Client) Stats(ctx context.Context, window string) (*StatsReport, error) {
	var q url.Values
	if window != "" {
		q = url.Values{"window": {window}}
	}
	var v StatsReport
	return &v, c.do(ctx, http.MethodGet, "/v1/stats", q, &v)
}

// Enable puts an endpoint back into rotation.
func (c *Client) Enable(ctx context.Context, cluster, endpoint string) (*ActionResult, error) {
	return c.endpointAction(ctx, cluster, endpoint, "enable")
}

// Disable takes an endpoint out of rotation at once.
func (c *Client) Disable(ctx context.Context, cluster, endpoint string) (*ActionResult, error) {
	return c.endpointAction(ctx, cluster, endpoint, "disable")
}

// Drain takes an endpoint out of rotation and lets its in-flight requests
// finish; the result's Endpoint.Inflight says how many there are.
func (c *Client) Drain(ctx context.Context, cluster, endpoint string) (*ActionResult, error) {
	return c.endpointAction(ctx, cluster, endpoint, "drain")
}

// Probe runs one active health check on an endpoint now.
func (c *Client) Probe(ctx context.Context, cluster, endpoint string) (*ActionResult, error) {
	return c.endpointAction(ctx, cluster, endpoint, "probe")
}

func (c *Client) endpointAction(ctx context.Context, cluster, endpoint, action string) (*ActionResult, error) {
	var v ActionResult
	path := "/v1/endpoints/" + url.PathEscape(cluster) + "/" + url.PathEscape(endpoint) + "/" + action
	return &v, c.do(ctx, http.MethodPost, path, nil, &v)
}

// Reload asks the daemon to re-read its config, as SIGHUP does. A rejected
// config is an *APIError whose Message says why.
func (c *Client) Reload(ctx context.Context) (*ActionResult, error) {
	var v ActionResult
	return &v, c.do(ctx, http.MethodPost, "/v1/reload", nil, &v)
}

// Healthz returns GET /healthz: nil while the daemon is alive.
func (c *Client) Healthz(ctx context.Context) (*Health, error) {
	var v Health
	return &v, c.do(ctx, http.MethodGet, "/healthz", nil, &v)
}

// Readyz returns GET /readyz: nil once the daemon has told systemd it is
// ready, an *APIError with status 503 before then and while it stops.
func (c *Client) Readyz(ctx context.Context) (*Health, error) {
	var v Health
	return &v, c.do(ctx, http.MethodGet, "/readyz", nil, &v)
}

// Metrics returns GET /metrics, the Prometheus text exposition.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	var b []byte
	return b, c.do(ctx, http.MethodGet, "/metrics", nil, &b)
}

// do sends one request and decodes a 2xx answer into out: JSON, or the raw
// body when out is a *[]byte.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, out any) error {
	target := c.base.String() + path
	if q := query.Encode(); q != "" {
		target += "?" + q
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &ConnError{Addr: c.addr, Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return &ConnError{Addr: c.addr, Err: fmt.Errorf("%s %s: reading the answer: %w", method, path, err)}
	}
	if resp.StatusCode/100 != 2 {
		return apiError(method, path, resp.StatusCode, body)
	}
	if b, ok := out.(*[]byte); ok {
		*b = body
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &ConnError{Addr: c.addr, Err: fmt.Errorf("%s %s: answer is not the admin API's JSON: %w", method, path, err)}
	}
	return nil
}

func apiError(method, path string, code int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, StatusCode: code}
	var v Error
	if json.Unmarshal(body, &v) == nil && v.Error != "" {
		e.Message = v.Error
	} else {
		// Not qccd's JSON (a proxy in between, or another server): show a
		// little of what came back.
		msg := strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		if msg == "" {
			msg = "empty answer"
		}
		e.Message = msg
	}
	return e
}

// unwrapURLError drops net/http's *url.Error wrapper, whose message repeats
// the made-up URL of a unix socket.
func unwrapURLError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}
