// Package admin is qccd's admin API: the HTTP handler behind the admin
// socket and the optional TCP admin listener, which qcc, the dashboard and
// Prometheus talk to.
//
// The package knows the daemon only through the small Daemon interface, so
// that it can be tested against anything that holds a snapshot, and so that
// the daemon package stays the one place where components are wired.
package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// Daemon is what the admin API needs of the running daemon.
type Daemon interface {
	// Snapshot returns the runtime snapshot requests are served from now.
	Snapshot() *cluster.Snapshot
	// Reload re-reads the config and applies it; an error means the running
	// config was kept.
	Reload(trigger string) error
	// LastReload returns the outcome of the last reload, nil before any.
	LastReload() *adminapi.Reload
	// Ready reports whether the daemon has told systemd it is ready and is
	// not stopping.
	Ready() bool
	// StartedAt is when the daemon started.
	StartedAt() time.Time
}

// Stats reports what the stats collector counted over a window; window 0
// means since the stats began.
type Stats interface {
	Report(window time.Duration) adminapi.StatsReport
}

// StatsFunc adapts a function to Stats, as http.HandlerFunc does handlers.
type StatsFunc func(window time.Duration) adminapi.StatsReport

// Report calls f.
func (f StatsFunc) Report(window time.Duration) adminapi.StatsReport { return f(window) }

// Prober runs one active health check on an endpoint now. Its result feeds
// the endpoint's state as a scheduled check's would. An error means the
// check could not run at all, such as a cluster without active checks.
type Prober interface {
	Probe(ctx context.Context, ep *endpoint.Endpoint) (adminapi.Probe, error)
}

// Options configures the admin API. Only Daemon is required: without Stats,
// Metrics or Prober their routes answer 501 Not Implemented, saying what is
// missing.
type Options struct {
	Daemon  Daemon
	Stats   Stats
	Metrics http.Handler
	Prober  Prober
	// Version is the daemon's version string for /v1/status.
	Version string
	Log     zerolog.Logger
}

// Handler serves the admin API's routes and the dashboard.
type Handler struct {
	opts Options
	mux  *http.ServeMux
}

// NewHandler returns the admin API handler.
func NewHandler(opts Options) *Handler {
	h := &Handler{opts: opts, mux: http.NewServeMux()}
	h.routes()
	return h
}
