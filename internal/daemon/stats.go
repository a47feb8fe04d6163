package daemon

import (
	"net/http"
	"time"

	"github.com/qcc-dev/qcc/internal/buildinfo"
	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/metrics"
	"github.com/qcc-dev/qcc/internal/stats"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// newStats builds the stats collector and the Prometheus metrics it feeds.
// It runs before the listeners are made, since every proxy handler hands
// its finished requests to the collector. The state directory is read
// once, at start: moving it takes a restart.
func (d *Daemon) newStats(cfg *config.Config) {
	dir := cfg.Daemon.StateDir
	if d.opts.StateDir != "" {
		dir = d.opts.StateDir
	}
	d.metrics = metrics.New(metrics.Options{
		Snapshot:   d.Snapshot,
		LastReload: d.reloadState,
		Dropped:    func() int64 { return d.collector.Dropped() },
		Build:      buildinfo.Read(),
	})
	d.collector = stats.New(stats.Options{
		Snapshot: d.Snapshot,
		StateDir: dir,
		Log:      d.log.With().Str("component", "stats").Logger(),
		Observe:  d.metrics.Observe,
	})
	d.collector.Load()
}

// reloadState is the config's reload state for the metrics. The running
// snapshot was built when its config was loaded, at start or by the last
// reload that succeeded, so its build time is the last success.
func (d *Daemon) reloadState() metrics.Reload {
	r := d.LastReload()
	return metrics.Reload{OK: r.At.IsZero() || r.OK, LastSuccess: d.Snapshot().Built}
}

// Stats reports what the daemon counted over the last window; window 0
// means the totals since the stats began, which survive restarts.
func (d *Daemon) Stats(window time.Duration) adminapi.StatsReport { return d.collector.Report(window) }

// MetricsHandler serves the Prometheus metrics, for /metrics on the admin
// socket and admin_listen.
func (d *Daemon) MetricsHandler() http.Handler { return d.metrics.Handler() }

// ObserveHealthCheck counts one active health check in the metrics; result
// is a short fixed word such as "ok" or "failure".
func (d *Daemon) ObserveHealthCheck(cluster, endpoint, result string) {
	d.metrics.ObserveHealthCheck(cluster, endpoint, result)
}
