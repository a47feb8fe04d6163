package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qcc-dev/qcc/internal/endpoint"
)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.vecs(func(c prometheus.Collector) { c.Describe(ch) })
	for _, d := range []*prometheus.Desc{m.state, m.weight, m.inflight, m.build} {
		ch <- d
	}
	if m.opts.LastReload != nil {
		ch <- m.reloadOK
		ch <- m.reloadTime
	}
	if m.opts.Dropped != nil {
		ch <- m.dropped
	}
}

// Collect implements prometheus.Collector. The counters and histograms are
// collected only after the series of removed endpoints are pruned, so a
// scrape after a reload never shows them; the gauges are read from the
// current snapshot.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	m.syncLocked()
	snap := m.snap
	m.mu.Unlock()
	m.vecs(func(c prometheus.Collector) { c.Collect(ch) })

	if snap != nil {
		for _, c := range snap.Clusters {
			for _, ep := range c.Endpoints {
				now := ep.State.Status()
				for s := endpoint.Unknown; s <= endpoint.Disabled; s++ {
					v := 0.0
					if s == now {
						v = 1
					}
					ch <- prometheus.MustNewConstMetric(m.state, prometheus.GaugeValue, v, c.Name(), ep.Name, s.String())
				}
				ch <- prometheus.MustNewConstMetric(m.weight, prometheus.GaugeValue, float64(ep.EffectiveWeight()), c.Name(), ep.Name)
				ch <- prometheus.MustNewConstMetric(m.inflight, prometheus.GaugeValue, float64(ep.State.Inflight()), c.Name(), ep.Name)
			}
		}
	}
	if m.opts.LastReload != nil {
		r := m.opts.LastReload()
		ok := 0.0
		if r.OK {
			ok = 1
		}
		ch <- prometheus.MustNewConstMetric(m.reloadOK, prometheus.GaugeValue, ok)
		ch <- prometheus.MustNewConstMetric(m.reloadTime, prometheus.GaugeValue, float64(r.LastSuccess.UnixNano())/1e9)
	}
	if m.opts.Dropped != nil {
		ch <- prometheus.MustNewConstMetric(m.dropped, prometheus.CounterValue, float64(m.opts.Dropped()))
	}
	ch <- prometheus.MustNewConstMetric(m.build, prometheus.GaugeValue, 1)
}

func (m *Metrics) vecs(f func(prometheus.Collector)) {
	for _, c := range []prometheus.Collector{m.duration, m.ttfb, m.attempts, m.tokens, m.streamErrors, m.healthChecks, m.failovers} {
		f(c)
	}
}
