package bench

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// writeTable prints the results as Markdown: one row per target, medians
// over the rounds, and the targets' ratios to nginx.
func writeTable(w io.Writer, cfg Config, targets []*target, results map[string][]roundResult, mem map[string]memResult) {
	direct := results["direct"]
	added := func(name string, f func(roundResult) time.Duration) time.Duration {
		rs := results[name]
		d := make([]time.Duration, len(rs))
		for i := range rs {
			d[i] = f(rs[i]) - f(direct[i]) // same round: noise hits both alike
		}
		return medianDur(d)
	}
	med := func(name string, f func(roundResult) time.Duration) time.Duration {
		rs := results[name]
		d := make([]time.Duration, len(rs))
		for i := range rs {
			d[i] = f(rs[i])
		}
		return medianDur(d)
	}
	rps := func(name string) float64 {
		return medianOf(results[name], func(r roundResult) float64 { return r.rps })
	}
	p50 := func(r roundResult) time.Duration { return r.p50 }
	p99 := func(r roundResult) time.Duration { return r.p99 }
	t50 := func(r roundResult) time.Duration { return r.ttfb50 }
	t99 := func(r roundResult) time.Duration { return r.ttfb99 }

	fmt.Fprintf(w, "\nMedians of %d rounds; latency over %d sequential requests per round, throughput over %s per round, %d streams per round.\n\n",
		cfg.Rounds, cfg.LatencyRequests, cfg.ThroughputTime, cfg.Streams)
	fmt.Fprintln(w, "| Target | p50 c=1 | p99 c=1 | added p50 | added p99 | req/s c=64 | stream TTFB p50 added | TTFB p99 added | events spread out | peak RSS, 1000 streams | KB per idle stream |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, t := range targets {
		n := t.name
		row := fmt.Sprintf("| %s | %s | %s |", n, us(med(n, p50)), us(med(n, p99)))
		if n == "direct" {
			row += " — | — |"
		} else {
			row += fmt.Sprintf(" %s | %s |", us(added(n, p50)), us(added(n, p99)))
		}
		row += fmt.Sprintf(" %.0f |", rps(n))
		switch {
		case cfg.Fake || n == "go-floor":
			row += " — | — | — |"
		case n == "direct":
			row += fmt.Sprintf(" (%s) | (%s) | %s |", us(med(n, t50)), us(med(n, t99)), spreadVerdict(results[n]))
		default:
			row += fmt.Sprintf(" %s | %s | %s |", us(added(n, t50)), us(added(n, t99)), spreadVerdict(results[n]))
		}
		if m, ok := mem[n]; ok {
			row += fmt.Sprintf(" %d KB | %.1f |", m.peakKB, m.perStreamKB(cfg.SlowStreams))
		} else {
			row += " — | — |"
		}
		fmt.Fprintln(w, row)
	}

	// What each request of the concurrency-1 load cost the proxy: on a
	// shared machine, latency moves with the neighbours; CPU and switches
	// per request move with the proxy.
	fmt.Fprintf(w, "\n| Target | CPU per request, c=1 | context switches per request, c=1 | CPU per stream (%d events) |\n", streamEvents)
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, t := range targets {
		if t.proc == nil {
			continue
		}
		fmt.Fprintf(w, "| %s | %.1f µs | %.2f |", t.name, micro(med(t.name, func(r roundResult) time.Duration { return r.cpu })), medianOf(results[t.name], func(r roundResult) float64 { return r.switches }))
		if sc := med(t.name, func(r roundResult) time.Duration { return r.streamCPU }); sc > 0 {
			fmt.Fprintf(w, " %.0f µs |\n", micro(sc))
		} else {
			fmt.Fprintln(w, " — |")
		}
	}
	if _, ok := results["nginx"]; !ok {
		return
	}

	fmt.Fprintln(w, "\n| Measure | nginx | qccd | qccd / nginx | target | met |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	ratioRow := func(name string, nginx, qccd float64, unit string, ok bool, goal string) {
		ratio := "—"
		if nginx != 0 {
			ratio = fmt.Sprintf("%.2f", qccd/nginx)
		}
		fmt.Fprintf(w, "| %s | %.1f %s | %.1f %s | %s | %s | %s |\n", name, nginx, unit, qccd, unit, ratio, goal, yes(ok))
	}
	an, aq := micro(added("nginx", p50)), micro(added("qccd", p50))
	ratioRow("added p50 latency, c=1", an, aq, "µs", aq <= 1.2*an, "≤ 1.2")
	rn, rq := rps("nginx"), rps("qccd")
	ratioRow("throughput, c=64", rn, rq, "req/s", rq >= 0.7*rn, "≥ 0.7")
	if !cfg.Fake {
		tn, tq := micro(added("nginx", t50)), micro(added("qccd", t50))
		ratioRow("added stream TTFB p50", tn, tq, "µs", tq <= tn, "≤ 1")
	}
	if mn, ok := mem["nginx"]; ok {
		mq := mem["qccd"]
		kn, kq := mn.perStreamKB(cfg.SlowStreams), mq.perStreamKB(cfg.SlowStreams)
		ratioRow("memory per idle stream", kn, kq, "KB", kq <= 32, "≤ 32 KB")
	}
}

// spreadVerdict says whether every stream's events arrived over time, as
// sent, rather than all at once: the least spread-out stream of each round
// must have taken at least half the time the upstream took to send it.
func spreadVerdict(rs []roundResult) string {
	want := time.Duration(streamEvents-1) * streamDelay / 2
	least := time.Duration(1<<63 - 1)
	for _, r := range rs {
		least = min(least, r.minSpread)
	}
	if least >= want {
		return fmt.Sprintf("yes (≥ %s)", least.Round(time.Millisecond))
	}
	return fmt.Sprintf("NO: buffered (%s)", least.Round(time.Millisecond))
}

// medianOf is the median of f over rs.
func medianOf(rs []roundResult, f func(roundResult) float64) float64 {
	v := make([]float64, len(rs))
	for i := range rs {
		v[i] = f(rs[i])
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func medianDur(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}

func micro(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", micro(d)) }

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}
