// Package metrics exposes qccd's numbers to Prometheus at /metrics.
//
// Counters and histograms are fed by the stats collector's goroutine as it
// takes each finished request in (Observe), never by the request itself.
// Gauges (endpoint state, effective weight, in-flight requests, the last
// reload) are read from the current snapshot when Prometheus scrapes.
//
// Labels are limited to cluster, endpoint, code, kind, result and state:
// every value comes from the config or from a small fixed set, never from a
// request, so no key, request id or model name can reach a label and the
// number of series stays bounded. A reload that removes an endpoint or a
// cluster removes its series.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qcc-dev/qcc/internal/buildinfo"
	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/stats"
)

// Reload is what the metrics need to know about config reloads.
type Reload struct {
	// OK is false when the last reload failed and the daemon runs an
	// older config than the file.
	OK bool
	// LastSuccess is when the running config was loaded: at start, or by
	// the last reload that succeeded.
	LastSuccess time.Time
}

// Options configures Metrics.
type Options struct {
	// Snapshot returns the current runtime snapshot. Without one, no
	// cluster is configured and nothing is counted.
	Snapshot func() *cluster.Snapshot
	// LastReload reports the config's reload state at scrape time; nil
	// leaves the reload metrics out.
	LastReload func() Reload
	// Dropped returns how many stats events were dropped; nil leaves the
	// metric out.
	Dropped func() int64
	// Build is the build_info metric's labels.
	Build buildinfo.Info
}

// Metrics holds qccd's Prometheus metrics and serves them.
type Metrics struct {
	opts Options
	reg  *prometheus.Registry

	duration     *prometheus.HistogramVec // cluster, endpoint, code
	ttfb         *prometheus.HistogramVec // cluster, endpoint
	attempts     *prometheus.CounterVec   // cluster, endpoint, code
	tokens       *prometheus.CounterVec   // cluster, endpoint, kind
	streamErrors *prometheus.CounterVec   // cluster, endpoint
	healthChecks *prometheus.CounterVec   // cluster, endpoint, result
	failovers    *prometheus.CounterVec   // cluster

	state, weight, inflight *prometheus.Desc
	reloadOK, reloadTime    *prometheus.Desc
	dropped, build          *prometheus.Desc

	codes [600]string // status code labels, built once so counting allocates nothing

	// mu orders every update of a labelled series against the pruning of
	// the series a reload removed, so a late event for a removed endpoint
	// cannot bring its series back.
	mu       sync.Mutex
	snap     *cluster.Snapshot // the snapshot live was computed from
	live     map[endpointKey]bool
	clusters map[string]bool
	seen     map[endpointKey]bool // every (cluster, endpoint) with series
}

type endpointKey struct{ cluster, endpoint string }

// Buckets returns the latency buckets, in seconds: fine below a second,
// where non-streaming replies and first bytes are, and up to 600 s, because
// a long stream may take ten minutes.
func Buckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600}
}

// New returns Metrics registered in their own registry, with the Go
// runtime's and the process's standard metrics beside them.
func New(opts Options) *Metrics {
	m := &Metrics{
		opts: opts,
		reg:  prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "qccd_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its response, by the status the client got; endpoint is the last one tried, empty when none could be.",
			Buckets: Buckets(),
		}, []string{"cluster", "endpoint", "code"}),
		ttfb: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "qccd_request_ttfb_seconds",
			Help:    "Time from a request's arrival to the first byte of the response relayed to the client.",
			Buckets: Buckets(),
		}, []string{"cluster", "endpoint"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qccd_attempts_total",
			Help: "Attempts sent to an endpoint, by what it answered: a status code, \"error\" when it gave no answer, 499 when the client left first.",
		}, []string{"cluster", "endpoint", "code"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qccd_tokens_total",
			Help: "Tokens the upstream reported in the responses it served, by kind: input, output, cache_read, cache_creation.",
		}, []string{"cluster", "endpoint", "kind"}),
		streamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qccd_stream_errors_total",
			Help: "Responses that broke off after their first byte, or whose stream carried an error event.",
		}, []string{"cluster", "endpoint"}),
		healthChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qccd_health_checks_total",
			Help: "Active health checks, by result.",
		}, []string{"cluster", "endpoint", "result"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qccd_failovers_total",
			Help: "Times a request moved on to another endpoint after a failure before the first byte.",
		}, []string{"cluster"}),
		state: prometheus.NewDesc("qccd_endpoint_state",
			"Endpoint health state: 1 for the state the endpoint is in, 0 for the others.",
			[]string{"cluster", "endpoint", "state"}, nil),
		weight: prometheus.NewDesc("qccd_endpoint_effective_weight",
			"The weight the balancer gives the endpoint now.",
			[]string{"cluster", "endpoint"}, nil),
		inflight: prometheus.NewDesc("qccd_endpoint_inflight_requests",
			"Requests in flight on the endpoint, streams included.",
			[]string{"cluster", "endpoint"}, nil),
		reloadOK: prometheus.NewDesc("qccd_config_last_reload_successful",
			"1 if the last config reload succeeded (or none was tried), 0 if it failed and an older config runs.",
			nil, nil),
		reloadTime: prometheus.NewDesc("qccd_config_last_reload_success_timestamp_seconds",
			"When the running config was loaded, at start or by the last successful reload.",
			nil, nil),
		dropped: prometheus.NewDesc("qccd_stats_dropped_events_total",
			"Finished requests the stats collector could not take in because its queue was full; they are missing from every other counter.",
			nil, nil),
		build: prometheus.NewDesc("qccd_build_info",
			"Always 1; the labels say which build of qccd runs.",
			nil, prometheus.Labels{"version": opts.Build.Version, "goversion": opts.Build.GoVersion, "revision": opts.Build.Revision}),
		live:     map[endpointKey]bool{},
		clusters: map[string]bool{},
		seen:     map[endpointKey]bool{},
	}
	for i := range m.codes {
		m.codes[i] = strconv.Itoa(i)
	}
	m.reg.MustRegister(m,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry returns the registry the metrics live in, for tests and for
// gathering them another way.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// code returns the label of a status code.
func (m *Metrics) code(status int) string {
	if status >= 0 && status < len(m.codes) {
		return m.codes[status]
	}
	return strconv.Itoa(status)
}

// Observe counts one finished request. It is stats.Options.Observe: it runs
// on the collector's goroutine, never on the request's.
func (m *Metrics) Observe(ev stats.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncLocked()
	if !m.clusters[ev.Cluster] {
		return
	}
	if ev.Attempts > 1 {
		m.failovers.WithLabelValues(ev.Cluster).Add(float64(ev.Attempts - 1))
		m.seen[endpointKey{ev.Cluster, ""}] = true
	}
	for _, f := range ev.Failed {
		if !m.useLocked(ev.Cluster, f.Endpoint) {
			continue
		}
		code := "error"
		if f.Status != 0 {
			code = m.code(f.Status)
		}
		m.attempts.WithLabelValues(ev.Cluster, f.Endpoint, code).Inc()
	}
	if !m.useLocked(ev.Cluster, ev.Endpoint) {
		return
	}
	c, e := ev.Cluster, ev.Endpoint
	m.duration.WithLabelValues(c, e, m.code(ev.Status)).Observe(ev.Duration.Seconds())
	if ev.Endpoint == "" {
		return
	}
	if ev.Answered() {
		m.attempts.WithLabelValues(c, e, m.code(ev.Status)).Inc()
	}
	if ev.TTFB > 0 {
		m.ttfb.WithLabelValues(c, e).Observe(ev.TTFB.Seconds())
	}
	if ev.StreamError {
		m.streamErrors.WithLabelValues(c, e).Inc()
	}
	for _, t := range [...]struct {
		kind string
		n    int64
	}{
		{"input", ev.Usage.Input},
		{"output", ev.Usage.Output},
		{"cache_read", ev.Usage.CacheRead},
		{"cache_creation", ev.Usage.CacheCreation},
	} {
		if t.n > 0 {
			m.tokens.WithLabelValues(c, e, t.kind).Add(float64(t.n))
		}
	}
}

// ObserveHealthCheck counts one active health check of an endpoint. result
// is a short fixed word, such as "ok", "failure" or "auth_failed"; never a
// message. The health checker calls it from its own goroutine.
func (m *Metrics) ObserveHealthCheck(cluster, endpoint, result string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncLocked()
	if endpoint != "" && m.useLocked(cluster, endpoint) {
		m.healthChecks.WithLabelValues(cluster, endpoint, result).Inc()
	}
}

// useLocked reports whether series of the endpoint may be updated, i.e.
// whether the current snapshot has it, and notes that it has series; the
// empty endpoint (no endpoint could be tried) lives as long as its cluster.
func (m *Metrics) useLocked(cluster, endpoint string) bool {
	k := endpointKey{cluster, endpoint}
	if endpoint == "" {
		if !m.clusters[cluster] {
			return false
		}
	} else if !m.live[k] {
		return false
	}
	m.seen[k] = true
	return true
}

// syncLocked catches up with the current snapshot: when it changed, the
// series of every endpoint and cluster it no longer has are deleted.
func (m *Metrics) syncLocked() {
	var snap *cluster.Snapshot
	if m.opts.Snapshot != nil {
		snap = m.opts.Snapshot()
	}
	if snap == m.snap && snap != nil {
		return
	}
	m.snap = snap
	clear(m.live)
	clear(m.clusters)
	if snap != nil {
		for _, c := range snap.Clusters {
			m.clusters[c.Name()] = true
			for _, ep := range c.Endpoints {
				m.live[endpointKey{c.Name(), ep.Name}] = true
			}
		}
	}
	for k := range m.seen {
		if k.endpoint == "" && m.clusters[k.cluster] || m.live[k] {
			continue
		}
		labels := prometheus.Labels{"cluster": k.cluster, "endpoint": k.endpoint}
		for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
			m.duration, m.ttfb, m.attempts, m.tokens, m.streamErrors, m.healthChecks,
		} {
			v.DeletePartialMatch(labels)
		}
		if !m.clusters[k.cluster] {
			m.failovers.DeleteLabelValues(k.cluster)
		}
		delete(m.seen, k)
	}
}
