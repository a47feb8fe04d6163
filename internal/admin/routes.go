package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/qcc-dev/qcc/internal/dashboard"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

func (h *Handler) routes() {
	ui := dashboard.Handler()
	h.mux.Handle("GET /{$}", ui)
	h.mux.Handle("GET /assets/", ui)

	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /readyz", h.readyz)
	h.mux.HandleFunc("GET /metrics", h.metrics)

	h.mux.HandleFunc("GET /v1/status", h.status)
	h.mux.HandleFunc("GET /v1/clusters", h.clusters)
	h.mux.HandleFunc("GET /v1/endpoints", h.endpoints)
	h.mux.HandleFunc("GET /v1/stats", h.stats)
	h.mux.HandleFunc("POST /v1/endpoints/{cluster}/{endpoint}/enable", h.enable)
	h.mux.HandleFunc("POST /v1/endpoints/{cluster}/{endpoint}/disable", h.disable)
	h.mux.HandleFunc("POST /v1/endpoints/{cluster}/{endpoint}/drain", h.drain)
	h.mux.HandleFunc("POST /v1/endpoints/{cluster}/{endpoint}/probe", h.probe)
	h.mux.HandleFunc("POST /v1/reload", h.reload)
}

// ServeHTTP routes the request. Requests no route takes get the admin API's
// JSON error, not net/http's plain-text one, so that every client decodes
// one shape.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	// Let the mux decide between 404 and 405 (and set Allow), then answer
	// in JSON.
	rec := &statusRecorder{header: http.Header{}}
	h.mux.ServeHTTP(rec, r)
	switch rec.code {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeError(w, rec.code, fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, rec.header.Get("Allow")))
	case http.StatusNotFound:
		writeError(w, rec.code, "no such route: "+r.Method+" "+r.URL.Path)
	default:
		// A redirect the mux makes to clean a path: let it through as is.
		h.mux.ServeHTTP(w, r)
	}
}

// statusRecorder keeps the status and headers of net/http's own error
// answers and drops their plain-text bodies.
type statusRecorder struct {
	header http.Header
	code   int
}

func (s *statusRecorder) Header() http.Header { return s.header }

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	return len(b), nil
}

// writeJSON answers with v, indented so that curl output reads well.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the answer: "+err.Error())
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// writeError answers with the admin API's error shape.
func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.MarshalIndent(adminapi.Error{Error: msg}, "", "  ")
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// notImplemented answers a route whose component this daemon does not run.
func notImplemented(w http.ResponseWriter, what string) {
	writeError(w, http.StatusNotImplemented, what)
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, adminapi.Health{Status: "ok"})
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	if !h.opts.Daemon.Ready() {
		writeError(w, http.StatusServiceUnavailable, "not ready: qccd is starting or stopping")
		return
	}
	writeJSON(w, http.StatusOK, adminapi.Health{Status: "ready"})
}

func (h *Handler) metrics(w http.ResponseWriter, r *http.Request) {
	if h.opts.Metrics == nil {
		notImplemented(w, "this qccd does not export metrics")
		return
	}
	h.opts.Metrics.ServeHTTP(w, r)
}

func (h *Handler) stats(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("window")
	if name == "" {
		name = "5m"
	}
	window, ok := parseWindow(name)
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("window %q: want one of 1m, 5m, 1h or total", name))
		return
	}
	if h.opts.Stats == nil {
		notImplemented(w, "this qccd does not collect stats")
		return
	}
	writeJSON(w, http.StatusOK, h.opts.Stats.Report(window))
}

// parseWindow reads ?window=: the collector's rolling windows, or total
// (0) for everything since the stats began.
func parseWindow(name string) (time.Duration, bool) {
	switch name {
	case "1m":
		return time.Minute, true
	case "5m":
		return 5 * time.Minute, true
	case "1h":
		return time.Hour, true
	case "total":
		return 0, true
	}
	return 0, false
}
