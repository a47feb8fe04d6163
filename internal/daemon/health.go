package daemon

import (
	"github.com/qcc-dev/qcc/internal/health"
)

// newHealth builds the health scheduler. It exists from the start, so that
// the admin API can probe an endpoint on demand (it is the admin's
// Prober); its scheduled checks begin only after READY (startHealth), so
// that an upstream that is slow to answer never holds the start back.
func (d *Daemon) newHealth() {
	d.health = health.New(health.Options{
		Snapshot: d.Snapshot,
		Log:      d.log.With().Str("component", "health").Logger(),
		OnCheck: func(c health.Check) {
			d.ObserveHealthCheck(c.Cluster, c.Endpoint, c.Result())
		},
	})
}

// startHealth runs the health scheduler under the supervisor. Its first
// round checks every endpoint at once; endpoints are unknown, and usable,
// until then.
func (d *Daemon) startHealth() {
	if _, err := d.sup.Start("health", d.health.Run); err != nil {
		d.log.Error().Err(err).Msg("health checks not started")
	}
}

// Prober returns the health scheduler, which probes an endpoint on demand
// for the admin API's POST /v1/endpoints/{cluster}/{endpoint}/probe.
func (d *Daemon) Prober() *health.Scheduler { return d.health }
