package admin

import (
	"fmt"
	"net/http"

	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// Reasons recorded in the endpoint's state, shown by status and the logs.
const (
	disabledReason = "disabled by operator"
	enabledReason  = "enabled by operator"
)

// target finds the endpoint a /v1/endpoints/{cluster}/{endpoint}/... route
// names in the current snapshot; on failure it has already answered.
func (h *Handler) target(w http.ResponseWriter, r *http.Request) (*endpoint.Endpoint, bool) {
	cname, ename := r.PathValue("cluster"), r.PathValue("endpoint")
	c := h.opts.Daemon.Snapshot().Cluster(cname)
	if c == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no cluster %q", cname))
		return nil, false
	}
	ep := c.Endpoint(ename)
	if ep == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %q in cluster %q", ename, cname))
		return nil, false
	}
	return ep, true
}

func (h *Handler) enable(w http.ResponseWriter, r *http.Request) {
	ep, ok := h.target(w, r)
	if !ok {
		return
	}
	was := ep.State.Status()
	ep.State.SetDisabled(false, enabledReason)
	msg := fmt.Sprintf("%s/%s is back in rotation", ep.Cluster, ep.Name)
	if was != endpoint.Disabled {
		msg = fmt.Sprintf("%s/%s was not disabled (%s); nothing changed", ep.Cluster, ep.Name, was)
	}
	h.logAction(r, ep, "enable")
	h.answerAction(w, ep, msg)
}

func (h *Handler) disable(w http.ResponseWriter, r *http.Request) {
	ep, ok := h.target(w, r)
	if !ok {
		return
	}
	msg := fmt.Sprintf("%s/%s is out of rotation", ep.Cluster, ep.Name)
	if ep.State.Status() == endpoint.Disabled {
		msg = fmt.Sprintf("%s/%s was already disabled; nothing changed", ep.Cluster, ep.Name)
	}
	ep.State.SetDisabled(true, disabledReason)
	h.logAction(r, ep, "disable")
	h.answerAction(w, ep, msg)
}

// drain takes the endpoint out of rotation like disable. Requests already
// on it are untouched and finish; the answer, and status until they have,
// say how many there are.
func (h *Handler) drain(w http.ResponseWriter, r *http.Request) {
	ep, ok := h.target(w, r)
	if !ok {
		return
	}
	if ep.State.Status() != endpoint.Disabled {
		ep.State.SetDisabled(true, drainedReason)
	}
	var msg string
	switch n := ep.State.Inflight(); n {
	case 0:
		msg = fmt.Sprintf("%s/%s is out of rotation and idle", ep.Cluster, ep.Name)
	case 1:
		msg = fmt.Sprintf("%s/%s is out of rotation; 1 request in flight will finish", ep.Cluster, ep.Name)
	default:
		msg = fmt.Sprintf("%s/%s is out of rotation; %d requests in flight will finish", ep.Cluster, ep.Name, n)
	}
	h.logAction(r, ep, "drain")
	h.answerAction(w, ep, msg)
}

func (h *Handler) probe(w http.ResponseWriter, r *http.Request) {
	ep, ok := h.target(w, r)
	if !ok {
		return
	}
	if h.opts.Prober == nil {
		notImplemented(w, "this qccd has no active health checks, so it cannot probe")
		return
	}
	h.logAction(r, ep, "probe")
	p, err := h.opts.Prober.Probe(r.Context(), ep)
	if err != nil {
		writeError(w, http.StatusConflict, fmt.Sprintf("probe %s/%s: %v", ep.Cluster, ep.Name, err))
		return
	}
	msg := fmt.Sprintf("%s/%s answered the probe properly", ep.Cluster, ep.Name)
	if !p.OK {
		msg = withReason(fmt.Sprintf("%s/%s failed the probe", ep.Cluster, ep.Name), p.Reason)
	}
	view := endpointView(ep)
	writeJSON(w, http.StatusOK, adminapi.ActionResult{OK: p.OK, Message: msg, Endpoint: &view, Probe: &p})
}

func (h *Handler) answerAction(w http.ResponseWriter, ep *endpoint.Endpoint, msg string) {
	view := endpointView(ep)
	writeJSON(w, http.StatusOK, adminapi.ActionResult{OK: true, Message: msg, Endpoint: &view})
}

func (h *Handler) logAction(r *http.Request, ep *endpoint.Endpoint, action string) {
	h.opts.Log.Info().Str("cluster", ep.Cluster).Str("endpoint", ep.Name).
		Str("action", action).Str("via", via(r)).Msg("admin action")
}

// reload applies the config file now, as SIGHUP does. A rejected config is
// a 422 listing its problems one per line as file:line: message: the
// request was fine, the file it asked to apply was not.
func (h *Handler) reload(w http.ResponseWriter, r *http.Request) {
	h.opts.Log.Info().Str("via", via(r)).Msg("reload requested through the admin API")
	err := h.opts.Daemon.Reload("admin API")
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "reload rejected, the running config is unchanged:\n"+err.Error())
		return
	}
	snap := h.opts.Daemon.Snapshot()
	writeJSON(w, http.StatusOK, adminapi.ActionResult{OK: true, Message: "config reloaded from " + snap.Config.Source})
}

// via names the listener a request came in on, for the log.
func via(r *http.Request) string {
	if addr := r.RemoteAddr; addr != "" && addr != "@" {
		return "tcp " + addr
	}
	return "unix socket"
}
