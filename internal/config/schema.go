package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// This file is the schema of clusters.toml: each section's keys, their
// defaults, and the checks that need only the section itself. The defaults
// live here and nowhere else; the embedded default config goes through the
// same code.

// config decodes the whole document.
func (d *decoder) config(tree map[string]any) *Config {
	root := d.root(tree)
	cfg := &Config{Daemon: d.daemon(root)}

	var names []string
	clusters, ok := root.table("clusters", "clusters")
	if ok {
		names = clusters.keys()
	}
	for _, name := range names {
		if t, ok := clusters.table(name, "cluster "+name); ok {
			cfg.Clusters = append(cfg.Clusters, d.cluster(name, t))
		}
	}
	if len(names) == 0 && (ok || !root.has("clusters")) {
		d.problemf(root.lineOf("clusters"), "no clusters: add a [clusters.NAME] table with at least one [[clusters.NAME.endpoints]]")
	}
	root.done()

	d.checkListeners(cfg)
	return cfg
}

func (d *decoder) daemon(root *table) Daemon {
	dm := Daemon{
		AdminSocket:  "/run/qccd/admin.sock",
		StateDir:     "/var/lib/qccd",
		LogLevel:     "info",
		DrainTimeout: 60 * time.Second,
		Watch:        true,
		PollInterval: 30 * time.Second,
	}
	t, ok := root.table("daemon", "[daemon]")
	if !ok {
		return dm
	}
	t.string("admin_socket", &dm.AdminSocket)
	t.string("admin_listen", &dm.AdminListen)
	hasToken := t.secret("admin_token", &dm.AdminToken)
	t.string("state_dir", &dm.StateDir)
	enum(t, "log_level", &dm.LogLevel, "debug", "info", "warn", "error")
	t.duration("drain_timeout", &dm.DrainTimeout)
	t.bool("watch", &dm.Watch)
	if t.duration("poll_interval", &dm.PollInterval) && dm.PollInterval != 0 && dm.PollInterval < MinPollInterval {
		t.errorf("poll_interval", "poll_interval must be 0 (off) or at least %s, got %s", MinPollInterval, dm.PollInterval)
	}
	t.done()

	if dm.AdminListen != "" {
		if err := checkListen(dm.AdminListen); err != nil {
			t.errorf("admin_listen", "admin_listen %q: %v", dm.AdminListen, err)
		} else if !IsLoopback(dm.AdminListen) && !hasToken {
			t.errorf("admin_listen",
				"admin_listen %q is reachable from other hosts; set admin_token or listen on a loopback address", dm.AdminListen)
		}
	}
	return dm
}

func (d *decoder) cluster(name string, t *table) Cluster {
	c := Cluster{
		Name:             name,
		Strategy:         StrategyWeighted,
		Affinity:         AffinityNone,
		AffinityTTL:      time.Hour,
		AffinityMaxKeys:  10000,
		MaxAttempts:      3,
		RetryWindow:      2 * time.Minute,
		MaxBodyBytes:     32 << 20,
		FailureThreshold: 3,
		CooldownMin:      5 * time.Second,
		CooldownMax:      5 * time.Minute,
		Line:             t.line,
	}
	if !validName(name) {
		t.errorf("", "cluster name %q may hold only letters, digits, '.', '_' and '-'", name)
	}
	t.string("listen", &c.Listen)
	enum(t, "strategy", &c.Strategy,
		StrategyPriority, StrategyWeighted, StrategyRoundRobin, StrategyLeastInflight, StrategyLatency)
	enum(t, "affinity", &c.Affinity, AffinityNone, AffinitySession)
	t.duration("affinity_ttl", &c.AffinityTTL)
	t.int("affinity_max_keys", &c.AffinityMaxKeys, 1)
	c.ClientTokens = t.secrets("client_tokens")
	t.int("max_attempts", &c.MaxAttempts, 1)
	t.duration("retry_window", &c.RetryWindow)
	t.int64("max_body_bytes", &c.MaxBodyBytes, 1)
	t.int("failure_threshold", &c.FailureThreshold, 1)
	t.duration("cooldown_min", &c.CooldownMin)
	t.duration("cooldown_max", &c.CooldownMax)
	c.Health = d.health(t)
	for i, et := range t.tables("endpoints") {
		c.Endpoints = append(c.Endpoints, d.endpoint(name, i, et))
	}
	t.done()

	if c.CooldownMin > c.CooldownMax {
		t.errorf("cooldown_min", "cooldown_min (%s) must not exceed cooldown_max (%s)", c.CooldownMin, c.CooldownMax)
	}
	d.checkCluster(t, &c)
	return c
}

func (d *decoder) health(cluster *table) Health {
	h := Health{
		Kind:           HealthNone,
		Interval:       60 * time.Second,
		Timeout:        30 * time.Second,
		HealthyAfter:   2,
		UnhealthyAfter: 3,
		Model:          "claude-haiku-4-5",
		MaxConcurrency: 4,
		SlowStart:      30 * time.Second,
		RatelimitFloor: 0.05,
	}
	t, ok := cluster.table("health", cluster.name+" health")
	if !ok {
		return h
	}
	enum(t, "kind", &h.Kind, HealthVerify, HealthModels, HealthNone)
	t.duration("interval", &h.Interval)
	t.duration("timeout", &h.Timeout)
	t.int("healthy_after", &h.HealthyAfter, 1)
	t.int("unhealthy_after", &h.UnhealthyAfter, 1)
	t.string("model", &h.Model)
	t.int("max_concurrency", &h.MaxConcurrency, 1)
	t.duration("slow_start", &h.SlowStart)
	t.fraction("ratelimit_floor", &h.RatelimitFloor)
	t.done()

	if h.Kind != HealthNone {
		// A zero interval would probe in a busy loop, a zero timeout would fail every probe.
		if h.Interval == 0 {
			t.errorf("interval", "interval must be above zero when kind is %q", h.Kind)
		}
		if h.Timeout == 0 {
			t.errorf("timeout", "timeout must be above zero when kind is %q", h.Kind)
		}
		if h.Model == "" && h.Kind == HealthVerify {
			t.errorf("model", "model must be set when kind is %q", h.Kind)
		}
	}
	return h
}

// endpoint decodes entry i of cluster's endpoints.
func (d *decoder) endpoint(cluster string, i int, t *table) Endpoint {
	ep := Endpoint{
		Auth:                  AuthAPIKey,
		Priority:              1,
		Weight:                100,
		DialTimeout:           10 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Minute,
		Line:                  t.line,
	}
	// Name the table first so that every later message can say which
	// endpoint it is about.
	t.name = fmt.Sprintf("endpoint %s#%d", cluster, i+1)
	switch ok := t.string("name", &ep.Name); {
	case ok && ep.Name != "":
		t.name = "endpoint " + cluster + "/" + ep.Name
		if !validName(ep.Name) {
			t.errorf("name", "name %q may hold only letters, digits, '.', '_' and '-'", ep.Name)
		}
	case ok || !t.has("name"):
		t.errorf("name", "name is required")
	}

	var rawURL string
	if t.string("base_url", &rawURL) {
		u, err := parseBaseURL(rawURL)
		if err != nil {
			t.errorf("base_url", "%v", err)
		}
		ep.BaseURL = u
	} else if !t.has("base_url") {
		t.errorf("", "base_url is required")
	}
	enum(t, "auth", &ep.Auth, AuthAPIKey, AuthBearer, AuthBoth, AuthPassthrough)
	if ep.Auth == AuthPassthrough {
		// The key would be ignored; a config that says two things is a mistake.
		var ref string
		if t.string("api_key", &ref) && ref != "" {
			t.errorf("api_key", "api_key is unused with auth = %q, which forwards the client's own credentials; remove one of them", ep.Auth)
		}
	} else if !t.secret("api_key", &ep.APIKey) {
		t.errorf("", "auth = %q needs an api_key", ep.Auth)
	}
	t.int("priority", &ep.Priority, 1)
	t.int("weight", &ep.Weight, 0)
	t.duration("dial_timeout", &ep.DialTimeout)
	t.duration("tls_timeout", &ep.TLSHandshakeTimeout)
	t.duration("header_timeout", &ep.ResponseHeaderTimeout)
	t.done()
	return ep
}

// parseBaseURL parses an endpoint's base_url. A path is kept as a prefix for
// relays mounted below the root; a trailing slash is dropped so that joining
// it with /v1/messages gives one slash. Errors quote the URL without any
// user info, which may be a credential.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	var problem string
	switch {
	case err != nil:
		problem = "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		problem = "must start with https:// or http://"
	case u.Host == "":
		problem = "has no host"
	case u.User != nil:
		// Credentials belong in api_key, which is kept out of logs.
		problem = "must not hold user info (user:password@); put credentials in api_key"
	case u.RawQuery != "" || u.ForceQuery:
		problem = "must not have a query"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		problem = "must not have a fragment"
	default:
		u.Path = strings.TrimRight(u.Path, "/")
		u.RawPath = strings.TrimRight(u.RawPath, "/")
		return u, nil
	}
	return nil, fmt.Errorf("base_url %q %s", withoutUserInfo(raw), problem)
}

// withoutUserInfo blanks the user info of a URL that may not even parse.
func withoutUserInfo(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	authority, _, _ := strings.Cut(rest, "/")
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	start := len(raw) - len(rest)
	return raw[:start] + "REDACTED" + raw[start+at:]
}

// validName reports whether name can be used as a cluster or endpoint name:
// names appear in `qcc probe CLUSTER/ENDPOINT`, metric labels and URLs.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if !isBareKeyChar(c) && c != '.' {
			return false
		}
	}
	return true
}
