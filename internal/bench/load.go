package bench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// messagesBody is what the loads send: a ~1 KB Messages request with the
// metadata.user_id Claude Code sends, so that qccd's affinity scan runs as
// in production.
func messagesBody(stream bool) []byte { return sessionBody(stream, "6f1c") }

// sessionBody is messagesBody for session id session; without one, the
// body has no metadata and affinity has nothing to hold on to.
func sessionBody(stream bool, session string) []byte {
	meta := ""
	if session != "" {
		meta = `,"metadata":{"user_id":"user_bench_account__session_` + session + `"}`
	}
	return fmt.Appendf(nil, `{"model":"claude-sonnet-4-5","max_tokens":64,"stream":%t,"messages":[{"role":"user","content":"%s"}]%s}`,
		stream, strings.Repeat("x", 850), meta)
}

var benchHeader = http.Header{
	"Content-Type":      {"application/json"},
	"Anthropic-Version": {"2023-06-01"},
	"X-Api-Key":         {"sk-ant-client-token"},
}

// latency sends n requests one after another on one connection and returns
// each one's time from write to the body's last byte, sorted.
func latency(ctx context.Context, addr string, n int) ([]time.Duration, error) {
	req := request(addr, "/v1/messages", benchHeader, messagesBody(false))
	c := newConn(addr)
	defer c.close()
	out := make([]time.Duration, 0, n)
	for range n {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res, err := c.do(req, false)
		if err != nil {
			return nil, err
		}
		if res.status != http.StatusOK {
			return nil, fmt.Errorf("status %d", res.status)
		}
		out = append(out, res.total)
	}
	slices.Sort(out)
	return out, nil
}

// throughput runs conc connections, each sending requests back to back,
// for d or until max requests in all, and returns the completed requests
// per second.
func throughput(ctx context.Context, addr string, conc int, d time.Duration, max int64) (float64, error) {
	req := request(addr, "/v1/messages", benchHeader, messagesBody(false))
	var done, budget atomic.Int64
	budget.Store(max)
	var firstErr error
	var errOnce sync.Once
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			c := newConn(addr)
			defer c.close()
			for ctx.Err() == nil && budget.Add(-1) >= 0 {
				res, err := c.do(req, false)
				if err == nil && res.status != http.StatusOK {
					err = fmt.Errorf("status %d", res.status)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}

// streamStats is what a streaming load measured.
type streamStats struct {
	ttfb []time.Duration // sorted
	// spread is, per stream, the time from its first to its last event,
	// sorted: a proxy that buffers delivers them all at once.
	spread []time.Duration
}

// streams runs n streams of events events, delay apart, conc at a time.
func streams(ctx context.Context, addr string, n, conc, events int, delay time.Duration) (streamStats, error) {
	path := fmt.Sprintf("/v1/messages?events=%d&delay=%s", events, delay)
	req := request(addr, path, benchHeader, messagesBody(true))
	var st streamStats
	var mu sync.Mutex
	var firstErr error
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			c := newConn(addr)
			defer c.close()
			for ctx.Err() == nil && next.Add(1) <= int64(n) {
				res, err := c.do(req, true)
				if err == nil && (res.status != http.StatusOK || len(res.events) != events) {
					err = fmt.Errorf("stream: status %d, %d of %d events", res.status, len(res.events), events)
				}
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				st.ttfb = append(st.ttfb, res.ttfb)
				st.spread = append(st.spread, res.events[len(res.events)-1]-res.events[0])
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return st, firstErr
	}
	slices.Sort(st.ttfb)
	slices.Sort(st.spread)
	return st, ctx.Err()
}

// slowStreams holds n streams open at once, each events long at delay
// apart, while sample reads the proxy's memory every 100 ms. It returns
// the peak of what sample saw, and the median of what it saw while every
// stream was open and idle between events (the middle of their life, long
// after they all started).
func slowStreams(ctx context.Context, addr string, n, events int, delay time.Duration, sample func() (int64, error)) (peak, held int64, err error) {
	path := fmt.Sprintf("/v1/messages?events=%d&delay=%s", events, delay)
	req := request(addr, path, benchHeader, messagesBody(true))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	life := time.Duration(events-1) * delay
	start := time.Now()
	var mid []int64 // samples from 50% to 85% of the streams' life
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := sample(); err == nil {
				peak = max(peak, v)
				if at := time.Since(start); at > life/2 && at < life*85/100 {
					mid = append(mid, v)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()

	var mu sync.Mutex
	var failed int
	var firstErr error
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c := newConn(addr)
			defer c.close()
			res, err := c.do(req, true)
			if err == nil && (res.status != http.StatusOK || len(res.events) != events) {
				err = fmt.Errorf("slow stream: status %d, %d of %d events", res.status, len(res.events), events)
			}
			if err != nil {
				mu.Lock()
				failed++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	cancel()
	<-sampled
	if failed > 0 {
		return peak, 0, fmt.Errorf("%d of %d slow streams failed: %w", failed, n, firstErr)
	}
	if len(mid) == 0 {
		return peak, 0, fmt.Errorf("no memory sample while the streams were open")
	}
	slices.Sort(mid)
	return peak, mid[len(mid)/2], nil
}

// quantile returns the q-quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}
