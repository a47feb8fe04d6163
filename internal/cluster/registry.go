package cluster

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/qcc-dev/qcc/internal/affinity"
	"github.com/qcc-dev/qcc/internal/balance"
	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/internal/upstream"
)

// Registry carries what qccd has learned across snapshots: each endpoint's
// health state and connection pool, keyed by identity, and each cluster's
// affinity table. Build is its only writer.
type Registry struct {
	onChange func(cluster, endpoint string, t endpoint.Transition)

	mu       sync.Mutex
	carried  map[string]*carried // by endpoint identity
	affinity map[string]*affinity.Table
}

type carried struct {
	state     *endpoint.State
	transport *upstream.Transport
	dialing   transportKey // the settings transport was built with
}

// transportKey is the part of an endpoint's config its transport depends on.
type transportKey struct{ dial, tls, header time.Duration }

// NewRegistry returns an empty registry. onChange is called on every
// endpoint state change (for the warn log line); it may be nil.
func NewRegistry(onChange func(cluster, endpoint string, t endpoint.Transition)) *Registry {
	return &Registry{onChange: onChange, carried: map[string]*carried{}, affinity: map[string]*affinity.Table{}}
}

// Build derives a snapshot from cfg. An endpoint whose identity is known
// keeps its state and, when its timeouts are unchanged, its connections;
// a reload counts as the "reload" that lets an auth-failed endpoint try
// again. Endpoints and clusters that cfg no longer has are forgotten; their
// idle connections close, and in-flight requests finish on the old snapshot.
//
// Build changes the registry only when it succeeds: a config it cannot
// build leaves every state, transport and affinity table as it was, so the
// snapshot that keeps running keeps its history.
func (r *Registry) Build(cfg *config.Config, now time.Time) (*Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()

	snap := &Snapshot{Config: cfg, Built: now, byName: make(map[string]*Cluster, len(cfg.Clusters))}
	// The registry as it will be; committed at the end.
	carriedNext := make(map[string]*carried, len(r.carried))
	affinityNext := map[string]*affinity.Table{}
	var kept []*endpoint.State // known endpoints, whose auth failure a reload clears
	var resize []func()        // affinity tables to resize
	for _, cc := range cfg.Clusters {
		c := &Cluster{
			Config:     cc,
			Policy:     endpoint.PolicyFor(cc),
			byIdentity: make(map[string]*endpoint.Endpoint, len(cc.Endpoints)),
		}
		for _, t := range cc.ClientTokens {
			c.clientTokens = append(c.clientTokens, sha256.Sum256([]byte(t.Value())))
		}
		for i, ec := range cc.Endpoints {
			id := endpoint.Identity(cc.Name, ec)
			tk := transportKey{ec.DialTimeout, ec.TLSHandshakeTimeout, ec.ResponseHeaderTimeout}
			k, ok := r.carried[id]
			switch {
			case !ok:
				k = &carried{state: endpoint.NewState(r.notify(cc.Name, ec.Name)), transport: endpoint.NewTransport(ec), dialing: tk}
			case k.dialing != tk:
				// A copy, not an update: the running snapshot keeps the
				// old transport until this one is committed.
				k = &carried{state: k.state, transport: endpoint.NewTransport(ec), dialing: tk}
				kept = append(kept, k.state)
			default:
				kept = append(kept, k.state)
			}
			carriedNext[id] = k
			ep := endpoint.New(cc.Name, i, ec, c.Policy, k.state, k.transport)
			c.Endpoints = append(c.Endpoints, ep)
			c.byIdentity[ep.ID] = ep
		}
		picker, err := balance.NewPicker(cc.Strategy, len(c.Endpoints))
		if err != nil {
			return nil, err
		}
		c.Balancer = balance.New(c.Endpoints, picker)
		if cc.Affinity == config.AffinitySession {
			t, ok := r.affinity[cc.Name]
			if ok {
				resize = append(resize, func() { t.Resize(cc.AffinityTTL, cc.AffinityMaxKeys) })
			} else {
				t = affinity.NewTable(cc.AffinityTTL, cc.AffinityMaxKeys)
			}
			affinityNext[cc.Name] = t
			c.Affinity = t
		}
		snap.Clusters = append(snap.Clusters, c)
		snap.byName[cc.Name] = c
	}

	var stale []*upstream.Transport
	for id, k := range r.carried {
		if n, ok := carriedNext[id]; !ok || n.transport != k.transport {
			stale = append(stale, k.transport)
		}
	}
	r.carried, r.affinity = carriedNext, affinityNext
	for _, f := range resize {
		f()
	}
	for _, st := range kept {
		st.ResetAuth("config reloaded")
	}
	for _, t := range stale {
		t.CloseIdleConnections()
	}
	return snap, nil
}

func (r *Registry) notify(cluster, name string) func(endpoint.Transition) {
	if r.onChange == nil {
		return nil
	}
	return func(t endpoint.Transition) { r.onChange(cluster, name, t) }
}
