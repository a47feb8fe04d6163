// Package endpoint is one upstream: where it is, how to reach it, and what
// qccd has learned about its health.
package endpoint

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/qcc-dev/qcc/internal/config"
)

// Endpoint is one upstream as one runtime snapshot sees it. The config part
// is immutable; State and Transport are shared with the endpoint's previous
// incarnations when a reload keeps its identity.
type Endpoint struct {
	Cluster string
	Name    string
	ID      string // Identity(Cluster, Config), computed once
	Index   int    // position in the cluster, for balancers' per-endpoint bookkeeping
	Config  config.Endpoint
	Policy  Policy

	State *State
	// Transport is the endpoint's connection pool, an *upstream.Transport
	// outside tests. The proxy pools request bodies on its promise to be
	// done with a request's body when RoundTrip returns, which net/http's
	// Transport does not make.
	Transport http.RoundTripper

	// basePath and baseEscaped are the base_url's path, decoded and escaped,
	// with any trailing slash removed, so that joining the client's path
	// never yields "//".
	basePath, baseEscaped string
}

// New returns an Endpoint for cfg in cluster, with the given shared state
// and transport.
func New(cluster string, index int, cfg config.Endpoint, p Policy, st *State, rt http.RoundTripper) *Endpoint {
	return &Endpoint{
		Cluster:     cluster,
		Name:        cfg.Name,
		ID:          Identity(cluster, cfg),
		Index:       index,
		Config:      cfg,
		Policy:      p,
		State:       st,
		Transport:   rt,
		basePath:    strings.TrimRight(cfg.BaseURL.Path, "/"),
		baseEscaped: strings.TrimRight(cfg.BaseURL.EscapedPath(), "/"),
	}
}

// Identity is what makes two configs the same endpoint across a reload:
// cluster, name, base_url and key fingerprint. The same identity keeps its
// health state, statistics and transport.
func Identity(cluster string, cfg config.Endpoint) string {
	return cluster + "\x00" + cfg.Name + "\x00" + cfg.BaseURL.String() + "\x00" + cfg.APIKey.Fingerprint()
}

// Target returns the upstream URL for a client request's URL: the base
// URL's scheme and host, its path prefix joined with the client's path, and
// the client's query unchanged.
func (e *Endpoint) Target(in *url.URL) *url.URL {
	u := *e.Config.BaseURL
	u.Path = e.basePath + in.Path
	// RawPath must encode all of Path or url ignores it, so an escape the
	// client made (%2F) needs the base's escaped form in front of it.
	if in.RawPath != "" || e.Config.BaseURL.RawPath != "" {
		u.RawPath = e.baseEscaped + in.EscapedPath()
	} else {
		u.RawPath = ""
	}
	u.RawQuery = in.RawQuery
	u.Fragment, u.RawFragment = "", ""
	return &u
}

// EffectiveWeight is the configured weight scaled by the endpoint's score
// (success rate, TTFB against the cluster's best, slow start; see Rescore),
// rounded, for status and metrics. It is 0 only for a standby (weight 0)
// and at least 1 otherwise, so that scoring never turns an endpoint into a
// standby.
func (e *Endpoint) EffectiveWeight() int {
	if e.Config.Weight <= 0 {
		return 0
	}
	return max(1, int((e.WeightMilli()+fullFactor/2)/fullFactor))
}

// WeightMilli is the effective weight in thousandths, which balancers use
// so that scoring still moves traffic between endpoints of weight 1.
func (e *Endpoint) WeightMilli() int64 {
	return int64(max(e.Config.Weight, 0)) * int64(e.State.factor.Load())
}

// SetCredentials puts the endpoint's own credential into h as its auth mode
// says; passthrough endpoints have none, and h is left alone.
func (e *Endpoint) SetCredentials(h http.Header) {
	PutCredentials(h, e.Config.Auth, e.Config.APIKey.Value())
}

// PutCredentials puts key into h as auth says. It is the one place that
// knows what each auth mode sends, for the proxy and the health checks alike.
func PutCredentials(h http.Header, auth config.AuthMode, key string) {
	switch auth {
	case config.AuthAPIKey:
		h["X-Api-Key"] = []string{key}
	case config.AuthBearer:
		h["Authorization"] = []string{"Bearer " + key}
	case config.AuthBoth:
		h["X-Api-Key"] = []string{key}
		h["Authorization"] = []string{"Bearer " + key}
	}
}
