package cluster

import (
	"crypto/sha256"
	"net/http"
	"sync"
	"time"

	"github.com/qcc-dev/qcc/internal/affinity"
	"github.com/qcc-dev/qcc/internal/balance"
	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
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
	transport *http.Transport
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
func (r *Registry) Build(cfg *config.Config, now time.Time) (*Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()

	snap := &Snapshot{Config: cfg, Built: now, byName: make(map[string]*Cluster, len(cfg.Clusters))}
	seen := map[string]bool{}
	seenClusters := map[string]bool{}
	var stale []*http.Transport
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
			seen[id] = true
			tk := transportKey{ec.DialTimeout, ec.TLSHandshakeTimeout, ec.ResponseHeaderTimeout}
			k, ok := r.carried[id]
			switch {
			case !ok:
				k = &carried{state: endpoint.NewState(r.notify(cc.Name, ec.Name)), transport: endpoint.NewTransport(ec), dialing: tk}
				r.carried[id] = k
			case k.dialing != tk:
				stale = append(stale, k.transport)
				k.transport, k.dialing = endpoint.NewTransport(ec), tk
				fallthrough
			default:
				k.state.ResetAuth("config reloaded")
			}
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
				t.Resize(cc.AffinityTTL, cc.AffinityMaxKeys)
			} else {
				t = affinity.NewTable(cc.AffinityTTL, cc.AffinityMaxKeys)
				r.affinity[cc.Name] = t
			}
			c.Affinity = t
			seenClusters[cc.Name] = true
		}
		snap.Clusters = append(snap.Clusters, c)
		snap.byName[cc.Name] = c
	}
	for id, k := range r.carried {
		if !seen[id] {
			stale = append(stale, k.transport)
			delete(r.carried, id)
		}
	}
	for name := range r.affinity {
		if !seenClusters[name] {
			delete(r.affinity, name)
		}
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
