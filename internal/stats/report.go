package stats

import (
	"slices"
	"time"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// Report returns the numbers of the last window, or the totals since the
// stats began when window ≤ 0. Windows are read in whole slots (10 s up to
// 5 minutes, 1 minute beyond) and cut to MaxWindow; Since says where the
// oldest slot read began. In-flight counts are the current snapshot's, and
// Dropped counts the events this process dropped, whatever the window.
//
// Clusters and endpoints come in config order, each configured one even if
// idle; those that are no longer configured follow, by name, when they
// counted something in the window.
func (c *Collector) Report(window time.Duration) adminapi.StatsReport {
	c.countQueued() // every request that has finished, however recently
	now := c.opts.Now()
	window = min(window, MaxWindow)
	var snap *cluster.Snapshot
	if c.opts.Snapshot != nil {
		snap = c.opts.Snapshot()
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	rep := adminapi.StatsReport{Window: adminapi.Duration(max(window, 0)), Dropped: c.Dropped(), Since: c.since}
	if window > 0 {
		rep.Since = windowStart(now, window)
	}
	read := func(k key) *counts {
		var sum counts
		if s := c.series[k]; s != nil {
			s.window(now, window, &sum)
		}
		return &sum
	}

	var total counts
	for _, name := range c.clusterNames(snap) {
		var cl *cluster.Cluster
		if snap != nil {
			cl = snap.Cluster(name)
		}
		sum := read(key{name, ""})
		if cl == nil && sum.requests == 0 && sum.attempts == 0 {
			continue
		}
		total.add(sum)
		cs := adminapi.ClusterStats{Cluster: name, Summary: sum.summary()}
		for _, ep := range c.endpointNames(name, cl) {
			esum := read(key{name, ep})
			var inflight int64
			configured := false
			if cl != nil {
				if e := cl.Endpoint(ep); e != nil {
					configured = true
					inflight = e.State.Inflight()
				}
			}
			if !configured && esum.requests == 0 && esum.attempts == 0 {
				continue
			}
			es := adminapi.EndpointStats{Endpoint: ep, Summary: esum.summary()}
			es.Summary.Inflight = inflight
			cs.Summary.Inflight += inflight
			cs.Endpoints = append(cs.Endpoints, es)
		}
		rep.Total.Inflight += cs.Summary.Inflight
		rep.Clusters = append(rep.Clusters, cs)
	}
	inflight := rep.Total.Inflight
	rep.Total = total.summary()
	rep.Total.Inflight = inflight
	return rep
}

// clusterNames lists the configured clusters in order, then the others the
// stats know, by name; c.mu must be held.
func (c *Collector) clusterNames(snap *cluster.Snapshot) []string {
	var names []string
	if snap != nil {
		for _, cl := range snap.Clusters {
			names = append(names, cl.Name())
		}
	}
	n := len(names)
	for k := range c.series {
		if k.Endpoint == "" && !slices.Contains(names, k.Cluster) {
			names = append(names, k.Cluster)
		}
	}
	slices.Sort(names[n:])
	return names
}

// endpointNames lists cl's endpoints in order, then the others of the
// cluster the stats know, by name; c.mu must be held.
func (c *Collector) endpointNames(name string, cl *cluster.Cluster) []string {
	var names []string
	if cl != nil {
		for _, ep := range cl.Endpoints {
			names = append(names, ep.Name)
		}
	}
	n := len(names)
	for k := range c.series {
		if k.Cluster == name && k.Endpoint != "" && !slices.Contains(names, k.Endpoint) {
			names = append(names, k.Endpoint)
		}
	}
	slices.Sort(names[n:])
	return names
}
