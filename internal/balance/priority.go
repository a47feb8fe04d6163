package balance

import "github.com/qcc-dev/qcc/internal/endpoint"

// priority sends everything to the first endpoint, in config order, of the
// best available tier: plain failover, for a primary key with backups.
type priority struct{}

func (priority) Pick(c []*endpoint.Endpoint) *endpoint.Endpoint { return c[0] }
