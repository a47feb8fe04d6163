package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// SoakConfig says how long to soak qccd.
type SoakConfig struct {
	Qccd     string        // the qccd binary
	Duration time.Duration // default 10 minutes
	Interval time.Duration // between reloads and samples; default 10s
	Out      io.Writer
}

// Soak runs mixed load against qccd for cfg.Duration: back-to-back JSON
// requests, short streams, long slow streams, and connections that close
// after every few requests. Every interval it rewrites the config (adding
// or removing a second endpoint, so transports and balancers are rebuilt),
// sends SIGHUP, and prints qccd's RSS, goroutines (go_goroutines from the
// admin API's /metrics), threads and open descriptors. It
// fails when a request fails or when a figure did not stay flat.
func Soak(ctx context.Context, cfg SoakConfig) error {
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Minute
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	dir, err := os.MkdirTemp("", "qccsoak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	upA, err := serveUpstream(false)
	if err != nil {
		return err
	}
	defer upA.stop()
	countB := &countingHandler{h: Upstream{}}
	upB, err := serveHandler(countB)
	if err != nil {
		return err
	}
	defer upB.stop()

	admin, err := freeAddr()
	if err != nil {
		return err
	}
	p, addr, err := startQccd(ctx, Config{}, dir, upA.addr, "qccd", cfg.Qccd, admin)
	if err != nil {
		return err
	}
	defer p.stop()
	configPath := filepath.Join(dir, "qccd.toml")
	state := filepath.Join(dir, "qccd.state")

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var st soakCounters
	var wg sync.WaitGroup
	runSoakLoad(loadCtx, &wg, addr, &st)

	fmt.Fprintf(cfg.Out, "soaking qccd (pid %d) for %s: reload and sample every %s\n", p.pid(), cfg.Duration, cfg.Interval)
	fmt.Fprintln(cfg.Out, "elapsed  rss_kb  goroutines  threads  fds  requests  streams  errors  reloads")
	var samples []procStat
	start := time.Now()
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	reloads := 0
	for range max(int(cfg.Duration/cfg.Interval), 1) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			return fmt.Errorf("qccd exited during the soak: %v", p.err)
		case <-tick.C:
		}
		reloads++
		withB := reloads%2 == 1
		settings := qccdSettings{listen: addr, upstream: upA.addr, logLevel: "warn", weight: 50 + reloads%2*50, stateDir: state, adminListen: admin}
		if err := os.WriteFile(configPath, []byte(soakConfig(settings, upB.addr, withB)), 0o600); err != nil {
			return err
		}
		if err := p.signal(syscall.SIGHUP); err != nil {
			return err
		}
		s, err := stat(p.pid())
		if err != nil {
			return err
		}
		if s.Goroutines, err = goroutines(ctx, admin); err != nil {
			return err
		}
		samples = append(samples, s)
		fmt.Fprintf(cfg.Out, "%7s  %6d  %10d  %7d  %3d  %8d  %7d  %6d  %7d\n", time.Since(start).Round(time.Second),
			s.RSSKB, s.Goroutines, s.Threads, s.FDs, st.requests.Load(), st.streams.Load(), st.errors.Load(), reloads)
	}
	stopLoad()
	wg.Wait()

	var problems []string
	if n := st.errors.Load(); n > 0 {
		problems = append(problems, fmt.Sprintf("%d requests failed (first: %v)", n, st.firstErr()))
	}
	if countB.n.Load() == 0 {
		problems = append(problems, "the endpoint that reloads add never got a request: reloads did not apply")
	}
	problems = append(problems, flatness(samples)...)
	if len(problems) > 0 {
		return errors.New("soak failed: " + strings.Join(problems, "; "))
	}
	fmt.Fprintf(cfg.Out, "soak passed: %d requests, %d streams, %d reloads, 0 errors; RSS, goroutines, threads and fds flat\n",
		st.requests.Load(), st.streams.Load(), reloads)
	return nil
}

// soakConfig is the config of one reload: the weight in s changes every
// time, and the second endpoint, at b, comes and goes.
func soakConfig(s qccdSettings, b string, withB bool) string {
	cfg := qccdConfig(s)
	if withB {
		cfg += fmt.Sprintf(`
[[clusters.bench.endpoints]]
name     = "second"
base_url = "http://%s"
api_key  = "env:QCCBENCH_UPSTREAM_KEY"
`, b)
	}
	return cfg
}

// flatness compares the last third of the samples with the first third
// (after the first sample, which catches the warm-up) and names what grew.
// The bounds are generous: the load is steady, so a leak shows as steady
// growth far past them, and noise stays well inside.
func flatness(samples []procStat) []string {
	if len(samples) < 4 {
		return nil // too short to judge; the samples are printed
	}
	s := samples[1:]
	third := max(len(s)/3, 1)
	avg := func(xs []procStat, f func(procStat) int64) float64 {
		var sum int64
		for _, x := range xs {
			sum += f(x)
		}
		return float64(sum) / float64(len(xs))
	}
	var out []string
	check := func(name string, f func(procStat) int64, slack float64, abs float64) {
		early, late := avg(s[:third], f), avg(s[len(s)-third:], f)
		if late > early*slack+abs {
			out = append(out, fmt.Sprintf("%s grew from %.0f to %.0f", name, early, late))
		}
	}
	check("RSS (KB)", func(p procStat) int64 { return p.RSSKB }, 1.5, 4096)
	check("goroutines", func(p procStat) int64 { return int64(p.Goroutines) }, 1.5, 16)
	check("threads", func(p procStat) int64 { return int64(p.Threads) }, 1.5, 4)
	check("open fds", func(p procStat) int64 { return int64(p.FDs) }, 1.2, 16)
	return out
}

// soakCounters counts what the soak's load did.
type soakCounters struct {
	requests, streams, errors atomic.Int64
	mu                        sync.Mutex
	first                     error
}

func (c *soakCounters) fail(err error) {
	c.errors.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first == nil {
		c.first = err
	}
}

func (c *soakCounters) firstErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

// runSoakLoad starts the soak's load on wg: 8 workers of JSON requests
// paced to about 100 per second each, closing their connection every 50
// requests; 4 workers of short streams; 16 long slow streams.
func runSoakLoad(ctx context.Context, wg *sync.WaitGroup, addr string, st *soakCounters) {
	// Without a session id, so that the balancer, not affinity, places
	// these and the endpoint that reloads add gets its share.
	plain := request(addr, "/v1/messages", benchHeader, sessionBody(false, ""))
	short := request(addr, "/v1/messages?events=20&delay=5ms", benchHeader, messagesBody(true))
	slow := request(addr, "/v1/messages?events=10&delay=500ms", benchHeader, messagesBody(true))
	loop := func(req []byte, sse bool, events int, pause time.Duration, reconnectEvery int) {
		wg.Go(func() {
			c := newConn(addr)
			defer c.close()
			for i := 1; ctx.Err() == nil; i++ {
				res, err := c.do(req, sse)
				if ctx.Err() != nil {
					return // stopping: the last exchange may have been cut
				}
				switch {
				case err != nil:
					st.fail(err)
				case res.status != http.StatusOK:
					st.fail(fmt.Errorf("status %d", res.status))
				case sse && len(res.events) != events:
					st.fail(fmt.Errorf("stream of %d events, want %d", len(res.events), events))
				case sse:
					st.streams.Add(1)
				default:
					st.requests.Add(1)
				}
				if reconnectEvery > 0 && i%reconnectEvery == 0 {
					c.close()
				}
				if pause > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(pause):
					}
				}
			}
		})
	}
	for range 8 {
		loop(plain, false, 0, 10*time.Millisecond, 50)
	}
	for range 4 {
		loop(short, true, 20, 0, 0)
	}
	for range 16 {
		loop(slow, true, 10, 0, 0)
	}
}

// countingHandler counts the requests it passes on.
type countingHandler struct {
	h http.Handler
	n atomic.Int64
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.h.ServeHTTP(w, r)
}
