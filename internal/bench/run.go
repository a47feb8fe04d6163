// Package bench is qccd's load harness: it starts a fast upstream on
// loopback, qccd and nginx in front of it as child processes, runs bounded
// loads against all three interleaved in rounds, and prints one table (see
// docs/performance.md). Its soak mode runs mixed load against qccd while
// reloading it and sampling its RSS, threads and descriptors.
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Config says what to run. The zero value of a count or duration means its
// default.
type Config struct {
	Qccd  string // the qccd binary
	Nginx string // the nginx binary; empty skips nginx
	// Others are more qccd binaries to measure beside Qccd, each a row of
	// its own: builds before and after a change, in the same run.
	Others []Binary
	// GoFloor adds a row for net/http/httputil's bare ReverseProxy, served
	// by this program: what any proxy built on net/http pays.
	GoFloor bool

	Rounds          int           // rounds of every load, interleaved; default 5
	LatencyRequests int           // sequential requests per target per round; default 2000
	ThroughputTime  time.Duration // concurrency-64 run per target per round; default 2s
	Streams         int           // streams per target per round (at concurrency 16); default 96
	SlowStreams     int           // concurrent slow streams for the memory row; default 1000; <0 skips

	// RequestLog keeps qccd's per-request log line (log_level info, the
	// default) and nginx's access log on, both to files; off, qccd runs at
	// warn and nginx with access_log off.
	RequestLog bool
	// Fake serves the fake Anthropic API (internal/fakeupstream) instead of
	// the minimal bench upstream, to show what its JSON decoding costs; it
	// runs the non-streaming loads only.
	Fake bool
	// ProfileDir, when set, runs qccd under the CPU profiler and writes
	// cpu.pprof and allocs.pprof there when it stops.
	ProfileDir string
	// WorkDir, when set, holds the generated configs and the proxies' logs
	// and is kept; by default they go to a temporary directory that is
	// removed.
	WorkDir string

	Out io.Writer // progress and the table
}

func (c *Config) defaults() {
	if c.Rounds <= 0 {
		c.Rounds = 5
	}
	if c.LatencyRequests <= 0 {
		c.LatencyRequests = 2000
	}
	if c.ThroughputTime <= 0 {
		c.ThroughputTime = 2 * time.Second
	}
	if c.Streams <= 0 {
		c.Streams = 96
	}
	if c.SlowStreams == 0 {
		c.SlowStreams = 1000
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
}

// The shape of the loads.
const (
	loadConc     = 64
	streamConc   = 16
	streamEvents = 20
	streamDelay  = 5 * time.Millisecond
	slowEvents   = 11 // ten seconds: long enough to settle after they all arrive
	slowDelay    = time.Second
)

// Binary is a qccd build to measure, by the name its row gets.
type Binary struct{ Name, Path string }

// target is one thing the loads hit.
type target struct {
	name string
	addr string
	proc *process // nil for direct
}

// roundResult is one target's figures in one round.
type roundResult struct {
	p50, p99       time.Duration
	rps            float64
	ttfb50, ttfb99 time.Duration
	minSpread      time.Duration // the least spread-out stream's first-to-last event
	// cpu and switches are what the proxy's process tree spent per request
	// of the concurrency-1 load: on-CPU time and context switches.
	cpu      time.Duration
	switches float64
	// streamCPU is the same for the streaming load, per stream.
	streamCPU time.Duration
}

// Run runs the benchmark and prints its table to cfg.Out.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	dir, cleanup, err := workDir(cfg.WorkDir, "qccbench-")
	if err != nil {
		return err
	}
	defer cleanup()

	up, err := serveUpstream(cfg.Fake)
	if err != nil {
		return err
	}
	defer up.stop()

	targets, err := startProxies(ctx, cfg, dir, up.addr)
	defer func() { stopProxies(targets) }()
	if err != nil {
		return err
	}
	targets = append([]*target{{name: "direct", addr: up.addr}}, targets...)

	fmt.Fprintf(cfg.Out, "warming up %d targets\n", len(targets))
	for _, t := range targets {
		if _, err := latency(ctx, t.addr, 300); err != nil {
			return fmt.Errorf("%s: warm-up: %w", t.name, err)
		}
		if _, err := throughput(ctx, t.addr, loadConc, 300*time.Millisecond, 1<<20); err != nil {
			return fmt.Errorf("%s: warm-up: %w", t.name, err)
		}
	}

	results := make(map[string][]roundResult)
	for r := range cfg.Rounds {
		rr, err := round(ctx, cfg, rotate(targets, r))
		if err != nil {
			return err
		}
		var line strings.Builder
		fmt.Fprintf(&line, "round %d/%d:", r+1, cfg.Rounds)
		for _, t := range targets {
			x := rr[t.name]
			results[t.name] = append(results[t.name], x)
			fmt.Fprintf(&line, "  %s p50=%dµs rps=%.0f ttfb50=%dµs", t.name, x.p50.Microseconds(), x.rps, x.ttfb50.Microseconds())
		}
		fmt.Fprintln(cfg.Out, line.String())
	}

	mem := map[string]memResult{}
	if cfg.SlowStreams > 0 && !cfg.Fake {
		// Fresh processes, so that what earlier loads left in the heap
		// neither hides nor inflates what the streams cost.
		stopProxies(targets[1:])
		fresh, err := startProxies(ctx, cfg, dir, up.addr)
		targets = append(targets[:1], fresh...)
		if err != nil {
			return err
		}
		for _, t := range fresh {
			if t.name == "go-floor" {
				continue // a reference for speed only; its memory is not the question
			}
			m, err := memory(ctx, t, cfg.SlowStreams)
			if err != nil {
				return fmt.Errorf("%s: slow streams: %w", t.name, err)
			}
			fmt.Fprintf(cfg.Out, "%s: %d slow streams: RSS %d KB before, %d KB peak, %d KB held while open\n", t.name, cfg.SlowStreams, m.baseKB, m.peakKB, m.heldKB)
			mem[t.name] = m
		}
	}
	writeTable(cfg.Out, cfg, targets, results, mem)
	return nil
}

// workDir returns dir, created if need be, or a new temporary directory
// that cleanup removes.
func workDir(dir, pattern string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, os.MkdirAll(dir, 0o755)
	}
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// rotate returns ts rotated left by r, so that no target always runs right
// after the same other one.
func rotate(ts []*target, r int) []*target {
	r %= len(ts)
	return append(slices.Clone(ts[r:]), ts[:r]...)
}

// round runs every load once against every target, load by load.
func round(ctx context.Context, cfg Config, order []*target) (map[string]roundResult, error) {
	rr := make(map[string]roundResult, len(order))
	for _, t := range order {
		var lat []time.Duration
		used, err := spent(t, func() (err error) {
			lat, err = latency(ctx, t.addr, cfg.LatencyRequests)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: latency: %w", t.name, err)
		}
		x := rr[t.name]
		x.p50, x.p99 = quantile(lat, 0.5), quantile(lat, 0.99)
		x.cpu = used.CPU / time.Duration(len(lat))
		x.switches = float64(used.Switches) / float64(len(lat))
		rr[t.name] = x
	}
	for _, t := range order {
		rps, err := throughput(ctx, t.addr, loadConc, cfg.ThroughputTime, 1<<22)
		if err != nil {
			return nil, fmt.Errorf("%s: throughput: %w", t.name, err)
		}
		x := rr[t.name]
		x.rps = rps
		rr[t.name] = x
	}
	if cfg.Fake {
		return rr, nil
	}
	for _, t := range order {
		if t.name == "go-floor" {
			// Its reverse proxy now and then cuts a stream short under
			// this load ("use of closed network connection" upstream); it
			// is a reference for the request path, not for streaming.
			continue
		}
		var st streamStats
		used, err := spent(t, func() (err error) {
			st, err = streams(ctx, t.addr, cfg.Streams, streamConc, streamEvents, streamDelay)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: streams: %w", t.name, err)
		}
		x := rr[t.name]
		x.streamCPU = used.CPU / time.Duration(cfg.Streams)
		x.ttfb50, x.ttfb99 = quantile(st.ttfb, 0.5), quantile(st.ttfb, 0.99)
		x.minSpread = st.spread[0]
		rr[t.name] = x
	}
	return rr, nil
}

// spent runs load and returns what t's process tree spent on it: nothing
// for direct, whose upstream runs in this process, or when /proc cannot
// say.
func spent(t *target, load func() error) (cpuStat, error) {
	if t.proc == nil {
		return cpuStat{}, load()
	}
	before, berr := treeCPU(t.proc.pid())
	if err := load(); err != nil {
		return cpuStat{}, err
	}
	after, aerr := treeCPU(t.proc.pid())
	if berr != nil || aerr != nil {
		return cpuStat{}, nil
	}
	return cpuStat{CPU: after.CPU - before.CPU, Switches: after.Switches - before.Switches}, nil
}

// startProxies starts nginx (when configured) and qccd in front of upstream.
func startProxies(ctx context.Context, cfg Config, dir, upstream string) ([]*target, error) {
	var ts []*target
	if cfg.Nginx != "" {
		p, addr, err := startNginx(ctx, cfg.Nginx, dir, upstream, cfg.RequestLog)
		if err != nil {
			return ts, err
		}
		ts = append(ts, &target{name: "nginx", addr: addr, proc: p})
	}
	if cfg.GoFloor {
		p, addr, err := startGoProxy(ctx, dir, upstream)
		if err != nil {
			return ts, err
		}
		ts = append(ts, &target{name: "go-floor", addr: addr, proc: p})
	}
	for _, b := range append(slices.Clone(cfg.Others), Binary{"qccd", cfg.Qccd}) {
		p, addr, err := startQccd(ctx, cfg, dir, upstream, b.Name, b.Path, "")
		if err != nil {
			return ts, err
		}
		ts = append(ts, &target{name: b.Name, addr: addr, proc: p})
	}
	return ts, nil
}

func stopProxies(ts []*target) {
	for _, t := range ts {
		if t.proc != nil {
			t.proc.stop()
		}
	}
}

// memResult is a proxy's RSS around the slow streams: before them, at its
// peak (while a thousand requests arrive at once), and held while they are
// all open and idle.
type memResult struct {
	baseKB, peakKB, heldKB int64
}

// perStreamKB is what each open, idle stream holds.
func (m memResult) perStreamKB(n int) float64 { return float64(m.heldKB-m.baseKB) / float64(n) }

// memory measures t's RSS idle (after a short warm-up) and at its peak
// while n slow streams are open at once.
func memory(ctx context.Context, t *target, n int) (memResult, error) {
	if _, err := latency(ctx, t.addr, 100); err != nil {
		return memResult{}, err
	}
	if _, err := streams(ctx, t.addr, 16, 4, 6, time.Millisecond); err != nil {
		return memResult{}, err
	}
	time.Sleep(time.Second)
	base, err := treeStat(t.proc.pid())
	if err != nil {
		return memResult{}, err
	}
	peak, held, err := slowStreams(ctx, t.addr, n, slowEvents, slowDelay, func() (int64, error) {
		s, err := treeStat(t.proc.pid())
		return s.RSSKB, err
	})
	return memResult{baseKB: base.RSSKB, peakKB: peak, heldKB: held}, err
}
