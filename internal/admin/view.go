package admin

import (
	"fmt"
	"net/http"
	"time"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// drainedReason marks an endpoint taken out of rotation by drain rather
// than disable: while it still has requests in flight, it shows as draining.
const drainedReason = "drained"

// summaryWindow is the stats window /v1/status summarises.
const summaryWindow = 5 * time.Minute

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	d := h.opts.Daemon
	snap := d.Snapshot()
	now := time.Now()
	st := adminapi.Status{
		Version:   h.opts.Version,
		Now:       now,
		StartedAt: d.StartedAt(),
		Uptime:    adminapi.Duration(now.Sub(d.StartedAt()).Truncate(time.Second)),
		Config: adminapi.ConfigStatus{
			Source:     snap.Config.Source,
			SHA256:     snap.Config.SHA256,
			LoadedAt:   snap.Built,
			LastReload: d.LastReload(),
		},
		Clusters: clusters(snap),
	}
	st.Problems = problems(st.Clusters, st.Config.LastReload)
	if h.opts.Stats != nil {
		rep := h.opts.Stats.Report(summaryWindow)
		st.Stats = &rep.Total
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *Handler) clusters(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, clusters(h.opts.Daemon.Snapshot()))
}

func (h *Handler) endpoints(w http.ResponseWriter, r *http.Request) {
	snap := h.opts.Daemon.Snapshot()
	name := r.URL.Query().Get("cluster")
	out := []adminapi.Endpoint{}
	for _, c := range snap.Clusters {
		if name != "" && c.Name() != name {
			continue
		}
		for _, ep := range c.Endpoints {
			out = append(out, endpointView(ep))
		}
	}
	if name != "" && snap.Cluster(name) == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no cluster %q", name))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// clusters describes every cluster of snap, in config order.
func clusters(snap *cluster.Snapshot) []adminapi.Cluster {
	out := make([]adminapi.Cluster, 0, len(snap.Clusters))
	for _, c := range snap.Clusters {
		ac := adminapi.Cluster{
			Name:      c.Name(),
			Listen:    c.Config.Listen,
			Strategy:  string(c.Config.Strategy),
			Affinity:  string(c.Config.Affinity),
			Available: c.Available(),
			Endpoints: make([]adminapi.Endpoint, 0, len(c.Endpoints)),
		}
		for _, ep := range c.Endpoints {
			ac.Endpoints = append(ac.Endpoints, endpointView(ep))
		}
		out = append(out, ac)
	}
	return out
}

// endpointView describes one endpoint. The key shows only as its
// fingerprint.
func endpointView(ep *endpoint.Endpoint) adminapi.Endpoint {
	st := ep.State
	status := st.Status()
	v := adminapi.Endpoint{
		Cluster:         ep.Cluster,
		Name:            ep.Name,
		BaseURL:         ep.Config.BaseURL.String(),
		Auth:            string(ep.Config.Auth),
		KeyFingerprint:  ep.Config.APIKey.Fingerprint(),
		Priority:        ep.Config.Priority,
		Weight:          ep.Config.Weight,
		EffectiveWeight: ep.EffectiveWeight(),
		State:           status.String(),
		Reason:          st.Reason(),
		Inflight:        st.Inflight(),
		TTFB:            adminapi.Duration(st.TTFB()),
	}
	if until := st.CooldownUntil(); !until.IsZero() {
		v.CooldownUntil = &until
	}
	if at := st.LastCheck(); !at.IsZero() {
		v.LastCheck = &at
	}
	v.LastError, _ = st.LastError()
	v.Draining = status == endpoint.Disabled && v.Reason == drainedReason && v.Inflight > 0
	return v
}

// problems lists what makes qcc status exit 1: endpoints that are down,
// clusters with nothing to send to, and a failed last reload. An endpoint
// an operator disabled or drained is not a problem: it is where they put it.
func problems(cs []adminapi.Cluster, last *adminapi.Reload) []string {
	var out []string
	for _, c := range cs {
		for _, ep := range c.Endpoints {
			switch ep.State {
			case endpoint.CoolingDown.String():
				msg := fmt.Sprintf("endpoint %s/%s is cooling down", c.Name, ep.Name)
				if ep.CooldownUntil != nil {
					msg += " until " + ep.CooldownUntil.UTC().Format(time.RFC3339)
				}
				out = append(out, withReason(msg, ep.Reason))
			case endpoint.AuthFailed.String():
				out = append(out, withReason(fmt.Sprintf("endpoint %s/%s failed authentication", c.Name, ep.Name), ep.Reason))
			}
		}
		if c.Available == 0 {
			out = append(out, fmt.Sprintf("cluster %s has no endpoint taking traffic", c.Name))
		}
	}
	if last != nil && !last.OK {
		out = append(out, "last reload failed, the previous config is still running: "+last.Error)
	}
	return out
}

func withReason(msg, reason string) string {
	if reason == "" {
		return msg
	}
	return msg + ": " + reason
}
