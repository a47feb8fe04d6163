// Package cluster builds the runtime snapshot: the immutable set of
// clusters, endpoints and balancers derived from one Config, with the
// per-endpoint state that outlives a reload carried in from the previous
// snapshot.
package cluster

import (
	"crypto/sha256"
	"crypto/subtle"
	"time"

	"github.com/qcc-dev/qcc/internal/affinity"
	"github.com/qcc-dev/qcc/internal/balance"
	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
)

// Cluster is one cluster of a snapshot.
type Cluster struct {
	Config    config.Cluster
	Endpoints []*endpoint.Endpoint // config order
	Balancer  *balance.Balancer
	Affinity  *affinity.Table // nil unless affinity = "session"
	Policy    endpoint.Policy

	byIdentity   map[string]*endpoint.Endpoint
	clientTokens [][sha256.Size]byte
}

// Name returns the cluster's name.
func (c *Cluster) Name() string { return c.Config.Name }

// ByIdentity returns the endpoint with the given identity, or nil.
func (c *Cluster) ByIdentity(id string) *endpoint.Endpoint { return c.byIdentity[id] }

// Endpoint returns the endpoint named name, or nil.
func (c *Cluster) Endpoint(name string) *endpoint.Endpoint {
	for _, ep := range c.Endpoints {
		if ep.Name == name {
			return ep
		}
	}
	return nil
}

// RequiresToken reports whether clients must present one of client_tokens.
func (c *Cluster) RequiresToken() bool { return len(c.clientTokens) > 0 }

// ValidToken reports, in constant time, whether token is one of the
// cluster's client tokens. Tokens are compared as SHA-256 digests, so
// neither the comparison's length nor its position gives anything away.
func (c *Cluster) ValidToken(token string) bool {
	sum := sha256.Sum256([]byte(token))
	ok := 0
	for i := range c.clientTokens {
		ok |= subtle.ConstantTimeCompare(sum[:], c.clientTokens[i][:])
	}
	return ok == 1
}

// Available counts the endpoints that are taking traffic now.
func (c *Cluster) Available() int {
	n := 0
	for _, ep := range c.Endpoints {
		switch ep.State.Status() {
		case endpoint.Unknown, endpoint.Available:
			n++
		}
	}
	return n
}

// Snapshot is everything the data path needs, built from one Config. It is
// never modified; a reload builds a new one and swaps the pointer, and a
// request keeps the snapshot it started with.
type Snapshot struct {
	Config   *config.Config
	Clusters []*Cluster // config order
	Built    time.Time

	byName map[string]*Cluster
}

// Cluster returns the cluster named name, or nil.
func (s *Snapshot) Cluster(name string) *Cluster { return s.byName[name] }
