package health

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// ErrBusy is Probe's answer while a check of the endpoint is in flight:
// there is at most one at a time per endpoint.
var ErrBusy = errors.New("a health check of this endpoint is already running")

// Probe checks ep now, for qcc probe and the admin API, and feeds the
// result into its state as a scheduled check would; the next scheduled
// check then waits a full interval. It uses the cluster's kind of check,
// or models (which costs no tokens) when the cluster has none. An error
// means no check ran: ep is passthrough, its cluster is gone, or a check
// is already in flight.
func (s *Scheduler) Probe(ctx context.Context, ep *endpoint.Endpoint) (adminapi.Probe, error) {
	if !Checkable(ep) {
		return adminapi.Probe{}, ErrNotCheckable
	}
	c := s.opts.Snapshot().Cluster(ep.Cluster)
	if c == nil {
		return adminapi.Probe{}, fmt.Errorf("cluster %s is no longer configured", ep.Cluster)
	}
	h := c.Config.Health
	kind := h.Kind
	if kind == config.HealthNone {
		kind = config.HealthModels
	}

	s.mu.Lock()
	e := s.entry(ep, time.Now())
	if e.running {
		s.mu.Unlock()
		return adminapi.Probe{}, ErrBusy
	}
	e.running = true
	s.mu.Unlock()

	check := s.check(ctx, h, kind, ep)
	s.finish(ep, e, h, check)
	if check.Canceled {
		return adminapi.Probe{}, ctx.Err()
	}
	return adminapi.Probe{
		OK:       check.OK(),
		Status:   check.Status,
		Reason:   check.Reason,
		Duration: adminapi.Duration(check.Duration),
	}, nil
}

// log records a finished check. Failures are worth a line at info, since
// they may explain a state change the daemon logs at warn; passes only at
// debug.
func (s *Scheduler) log(c Check) {
	ev := s.opts.Log.Debug()
	msg := "health check passed"
	if !c.OK() {
		ev = s.opts.Log.Info().Str("reason", c.Reason)
		msg = "health check failed"
	}
	ev.Str("cluster", c.Cluster).Str("endpoint", c.Endpoint).Str("kind", string(c.Kind)).
		Int("status", c.Status).Dur("took", c.Duration).Msg(msg)
}
