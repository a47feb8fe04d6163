// Package config turns clusters.toml into an immutable, validated Config.
//
// A Config is built once per load and never mutated afterwards: the daemon
// derives its runtime snapshot from it, so every component sees one
// consistent view of the file that produced it.
package config

import (
	"net/url"
	"strconv"
	"time"
)

// DefaultPath is where qccd looks for its configuration when --config is not given.
const DefaultPath = "/etc/qcc/clusters.toml"

// Config is one parsed and validated clusters.toml.
type Config struct {
	// Path is the file the config came from; empty for the embedded default.
	Path string
	// SHA256 is the hex digest of the file's bytes, used by reload to skip
	// rewrites that change nothing.
	SHA256 string
	// Source describes where the config came from for logs, e.g. the path or
	// "embedded default: passthrough".
	Source string

	Daemon   Daemon
	Clusters []Cluster // in file order
	// Warnings are non-fatal findings, such as a literal key in a file that
	// other users can read. They carry file:line like problems do.
	Warnings []Problem
}

// Daemon holds process-wide settings from the [daemon] table.
type Daemon struct {
	AdminSocket  string        // admin_socket, default /run/qccd/admin.sock
	AdminListen  string        // admin_listen, default "" (off)
	AdminToken   Secret        // admin_token, optional; required for a non-loopback admin_listen
	StateDir     string        // state_dir, default /var/lib/qccd
	LogLevel     string        // log_level: debug | info | warn | error, default info
	DrainTimeout time.Duration // drain_timeout, default 60s: how long shutdown waits for in-flight streams
	// Watch is watch, default true: reload by itself when the config file
	// changes, noticed through file system events and the content poll.
	// Like the other [daemon] keys it takes effect at the next start.
	Watch bool
	// PollInterval is poll_interval, default 30s: how often the file's
	// content is compared as well, for file systems that send no events;
	// 0 turns the poll off. At least MinPollInterval otherwise.
	PollInterval time.Duration
}

// MinPollInterval is the shortest poll_interval other than 0: the poll is a
// fallback, not a busy loop.
const MinPollInterval = time.Second

// Strategy names a balancing algorithm.
type Strategy string

// The balancing strategies a cluster may use.
const (
	StrategyPriority      Strategy = "priority"
	StrategyWeighted      Strategy = "weighted"
	StrategyRoundRobin    Strategy = "round-robin"
	StrategyLeastInflight Strategy = "least-inflight"
	StrategyLatency       Strategy = "latency"
)

// Affinity names how requests of one conversation are kept together.
type Affinity string

// The affinity modes a cluster may use.
const (
	AffinityNone    Affinity = "none"
	AffinitySession Affinity = "session"
)

// Cluster is one [clusters.NAME] table: a listener and the endpoints behind it.
type Cluster struct {
	Name     string
	Listen   string   // host:port, default 127.0.0.1:7860 only for the embedded default; required otherwise
	Strategy Strategy // default weighted
	Affinity Affinity // default none

	AffinityTTL     time.Duration // affinity_ttl, default 1h
	AffinityMaxKeys int           // affinity_max_keys, default 10000 (LRU cap)

	ClientTokens []Secret // client_tokens; each entry is a secret reference like api_key

	MaxAttempts  int           // max_attempts, default 3
	RetryWindow  time.Duration // retry_window, default 2m: no new attempt starts after this since the request arrived
	MaxBodyBytes int64         // max_body_bytes, default 32 MiB

	FailureThreshold int           // failure_threshold, default 3 consecutive failures before cool-down
	CooldownMin      time.Duration // cooldown_min, default 5s
	CooldownMax      time.Duration // cooldown_max, default 5m

	Health    Health
	Endpoints []Endpoint // in file order

	Line int // line of the [clusters.NAME] header, for messages
}

// HealthKind names an active probe.
type HealthKind string

// The probe kinds.
const (
	HealthVerify HealthKind = "verify"
	HealthModels HealthKind = "models"
	HealthNone   HealthKind = "none"
)

// Health is [clusters.NAME.health]. Active probing is the health issue's
// work; the core only parses and validates it.
type Health struct {
	Kind           HealthKind    // default none
	Interval       time.Duration // default 60s
	Timeout        time.Duration // default 30s
	HealthyAfter   int           // default 2
	UnhealthyAfter int           // default 3
	Model          string        // default claude-haiku-4-5
	MaxConcurrency int           // default 4
	SlowStart      time.Duration // default 30s
	RatelimitFloor float64       // default 0.05
}

// AuthMode names how qccd presents an endpoint's credential upstream.
type AuthMode string

// The auth modes.
const (
	AuthAPIKey      AuthMode = "x-api-key"
	AuthBearer      AuthMode = "bearer"
	AuthBoth        AuthMode = "both"
	AuthPassthrough AuthMode = "passthrough"
)

// Endpoint is one [[clusters.NAME.endpoints]] entry.
type Endpoint struct {
	Name     string
	BaseURL  *url.URL // parsed base_url; scheme http or https, no query or fragment
	APIKey   Secret   // resolved api_key; empty only with auth = passthrough
	Auth     AuthMode // default x-api-key
	Priority int      // default 1; tier, lower is preferred
	Weight   int      // default 100; 0 means standby within its tier

	DialTimeout           time.Duration // dial_timeout, default 10s
	TLSHandshakeTimeout   time.Duration // tls_timeout, default 10s
	ResponseHeaderTimeout time.Duration // header_timeout, default 10m: non-streaming replies send headers only when done

	Line int // line of the [[clusters.NAME.endpoints]] header
}

// Problem is one finding about a config file, with its position.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"` // 0 when no line applies
	Message string `json:"message"`
}

// String renders the problem as file:line: message, the form editors jump to.
func (p Problem) String() string {
	switch {
	case p.File == "":
		return p.Message
	case p.Line > 0:
		return p.File + ":" + strconv.Itoa(p.Line) + ": " + p.Message
	default:
		return p.File + ": " + p.Message
	}
}
