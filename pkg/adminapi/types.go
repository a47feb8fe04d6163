// Package adminapi is the contract of qccd's admin API: the JSON types its
// routes return and a small Go client. qcc uses it; so may other tools.
//
// Nothing here ever carries a key: endpoints show a fingerprint (the first
// 8 hex characters of the key's SHA-256) instead.
package adminapi

import "time"

// Status is GET /v1/status: the daemon at a glance.
type Status struct {
	Version   string        `json:"version"`
	Now       time.Time     `json:"now"` // the daemon's clock, so clients show ages without trusting their own
	StartedAt time.Time     `json:"started_at"`
	Uptime    Duration      `json:"uptime"`
	Config    ConfigStatus  `json:"config"`
	Clusters  []Cluster     `json:"clusters"`
	Problems  []string      `json:"problems,omitempty"` // why qcc status would exit 1: endpoints down, last reload failed
	Stats     *StatsSummary `json:"stats,omitempty"`    // last 5 minutes, all clusters
}

// ConfigStatus describes the running config and the last reload.
type ConfigStatus struct {
	Source     string    `json:"source"` // path, or "embedded default: ..."
	SHA256     string    `json:"sha256,omitempty"`
	LoadedAt   time.Time `json:"loaded_at"`
	LastReload *Reload   `json:"last_reload,omitempty"`
}

// Reload is the outcome of one reload attempt.
type Reload struct {
	At      time.Time `json:"at"`
	Trigger string    `json:"trigger,omitempty"` // SIGHUP, file change, admin API, poll
	OK      bool      `json:"ok"`
	Error   string    `json:"error,omitempty"`
}

// Cluster is one cluster: GET /v1/clusters returns []Cluster.
type Cluster struct {
	Name      string     `json:"name"`
	Listen    string     `json:"listen"`
	Strategy  string     `json:"strategy"`
	Affinity  string     `json:"affinity"`
	Available int        `json:"available"` // endpoints taking traffic now
	Endpoints []Endpoint `json:"endpoints"`
}

// Endpoint is one endpoint: GET /v1/endpoints returns []Endpoint.
type Endpoint struct {
	Cluster         string     `json:"cluster"`
	Name            string     `json:"name"`
	BaseURL         string     `json:"base_url"`
	Auth            string     `json:"auth"`
	KeyFingerprint  string     `json:"key_fingerprint,omitempty"`
	Priority        int        `json:"priority"`
	Weight          int        `json:"weight"`
	EffectiveWeight int        `json:"effective_weight"`
	State           string     `json:"state"` // unknown | available | cooling-down | auth-failed | disabled
	Reason          string     `json:"reason,omitempty"`
	CooldownUntil   *time.Time `json:"cooldown_until,omitempty"`
	Inflight        int64      `json:"inflight"`
	Draining        bool       `json:"draining,omitempty"` // drained, with requests still in flight
	TTFB            Duration   `json:"ttfb_ewma"`
	LastError       string     `json:"last_error,omitempty"`
	LastCheck       *time.Time `json:"last_check,omitempty"` // active health check, when there is one
}

// StatsReport is GET /v1/stats?window=5m.
type StatsReport struct {
	Window   Duration       `json:"window"` // 0 = since the stats began (totals)
	Since    time.Time      `json:"since"`
	Total    StatsSummary   `json:"total"`
	Clusters []ClusterStats `json:"clusters"`
	Dropped  int64          `json:"dropped_events"` // events the collector could not take in time
}

// ClusterStats is one cluster's numbers and its endpoints'.
type ClusterStats struct {
	Cluster   string          `json:"cluster"`
	Summary   StatsSummary    `json:"summary"`
	Endpoints []EndpointStats `json:"endpoints"`
}

// EndpointStats is one endpoint's numbers.
type EndpointStats struct {
	Endpoint string       `json:"endpoint"`
	Summary  StatsSummary `json:"summary"`
}

// StatsSummary is what happened over a window.
type StatsSummary struct {
	Requests     int64            `json:"requests"`
	ByClass      map[string]int64 `json:"by_class,omitempty"` // "2xx", "4xx", "5xx", "client_gone"
	ByCode       map[string]int64 `json:"by_code,omitempty"`  // "200", "529", ...
	Attempts     int64            `json:"attempts"`
	Failovers    int64            `json:"failovers"`
	StreamErrors int64            `json:"stream_errors"`
	Inflight     int64            `json:"inflight"`
	Tokens       Tokens           `json:"tokens"`
	TTFB         Quantiles        `json:"ttfb"`
	Duration     Quantiles        `json:"duration"`
}

// Tokens counts tokens by kind.
type Tokens struct {
	Input         int64 `json:"input"`
	Output        int64 `json:"output"`
	CacheRead     int64 `json:"cache_read"`
	CacheCreation int64 `json:"cache_creation"`
}

// Quantiles summarise a latency distribution.
type Quantiles struct {
	P50 Duration `json:"p50"`
	P95 Duration `json:"p95"`
	P99 Duration `json:"p99"`
}

// ActionResult answers POST /v1/endpoints/{cluster}/{endpoint}/{action}
// and POST /v1/reload.
type ActionResult struct {
	OK       bool      `json:"ok"`
	Message  string    `json:"message"`
	Endpoint *Endpoint `json:"endpoint,omitempty"`
	Probe    *Probe    `json:"probe,omitempty"`
}

// Probe is the result of one active health check.
type Probe struct {
	OK       bool     `json:"ok"`
	Status   int      `json:"status,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Duration Duration `json:"duration"`
}

// Health answers GET /healthz and GET /readyz.
type Health struct {
	Status string `json:"status"` // "ok" or "ready"
}

// Error is the body of every non-2xx admin API answer.
type Error struct {
	Error string `json:"error"`
}
