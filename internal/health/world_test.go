package health_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/health"
	"github.com/qcc-dev/qcc/internal/proxy"
)

// A world is one cluster of qccd's data path (proxy handler, balancer,
// endpoint states) and its health scheduler in front of fake upstreams,
// all in memory: requests go from the proxy and the scheduler to the fakes
// through a RoundTripper that calls their handlers directly. With no
// sockets, everything runs inside a testing/synctest bubble, where an hour
// of checks and traffic passes in a moment and every timer is exact.
type world struct {
	t     *testing.T
	reg   *cluster.Registry
	snap  atomic.Pointer[cluster.Snapshot]
	net   *memNet
	proxy *proxy.Handler
	sched *health.Scheduler
	stop  func()

	mu          sync.Mutex
	transitions []string
	logs        bytes.Buffer
	checks      []health.Check
}

// upstream is one endpoint of a world: its name, host and handler.
type upstream struct {
	name    string
	handler http.Handler
	extra   string // more endpoint settings, one per line
	noKey   bool   // for auth = "passthrough"
	path    string // base_url's path, as a relay's has
}

// key is the key of the endpoint named name; tests check it never leaks.
func key(name string) string { return "sk-ant-api03-" + name + "-SECRETSECRETSECRET0123" }

// newWorld builds the cluster test with body clusterTOML (strategy,
// [clusters.test.health]…) and one endpoint per upstream, whose base_url
// is http://NAME.test. It does not start the scheduler.
func newWorld(t *testing.T, clusterTOML string, ups ...upstream) *world {
	t.Helper()
	w := &world{t: t, net: &memNet{hosts: map[string]*host{}}}
	w.reg = cluster.NewRegistry(func(_, name string, tr endpoint.Transition) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.transitions = append(w.transitions, fmt.Sprintf("%s: %s -> %s (%s)", name, tr.From, tr.To, tr.Reason))
	})
	w.apply(clusterTOML, ups...)
	log := zerolog.New(syncWriter{&w.mu, &w.logs}).Level(zerolog.DebugLevel)
	w.proxy = proxy.New(proxy.Options{Cluster: "test", Snapshot: w.snap.Load, Log: log})
	w.sched = health.New(health.Options{Snapshot: w.snap.Load, Log: log, OnCheck: func(c health.Check) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.checks = append(w.checks, c)
	}})
	t.Cleanup(w.checkNoKeyLeaked)
	return w
}

// apply builds a snapshot from clusterTOML and ups, as a reload would, and
// swaps it in.
func (w *world) apply(clusterTOML string, ups ...upstream) {
	w.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[clusters.test]\nlisten = \"127.0.0.1:0\"\n%s\n", clusterTOML)
	for _, u := range ups {
		fmt.Fprintf(&b, "[[clusters.test.endpoints]]\nname = %q\nbase_url = \"http://%s.test%s\"\n%s\n", u.name, u.name, u.path, u.extra)
		if !u.noKey {
			fmt.Fprintf(&b, "api_key = %q\n", key(u.name))
		}
		w.net.add(u.name+".test", u.handler)
	}
	cfg, err := config.Parse("test.toml", []byte(b.String()), config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		w.t.Fatalf("config:\n%s\n%v", b.String(), err)
	}
	snap, err := w.reg.Build(cfg, time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	for _, c := range snap.Clusters {
		for _, ep := range c.Endpoints {
			ep.Transport = w.net
		}
	}
	w.snap.Store(snap)
}

// start runs the scheduler until the test ends or stop is called.
func (w *world) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.sched.Run(ctx) }()
	w.stop = func() {
		cancel()
		if err := <-done; err != nil {
			w.t.Errorf("Run: %v", err)
		}
	}
	w.t.Cleanup(func() {
		if w.stop != nil {
			w.stop()
			w.stop = nil
		}
	})
}

func (w *world) ep(name string) *endpoint.Endpoint {
	return w.snap.Load().Cluster("test").Endpoint(name)
}

// send sends one request through the proxy and returns its status.
func (w *world) send(stream bool) int {
	body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":64,"stream":%t,"messages":[{"role":"user","content":"hello"}]}`, stream)
	req := httptest.NewRequest(http.MethodPost, "/v1/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	rec := httptest.NewRecorder()
	w.proxy.ServeHTTP(rec, req)
	return rec.Code
}

// traffic sends a request every gap until ctx ends, in the background.
func (w *world) traffic(ctx context.Context, gap time.Duration) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			w.send(false)
			select {
			case <-ctx.Done():
			case <-time.After(gap):
			}
		}
	})
	return wg.Wait
}

func (w *world) transitionLog() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.transitions...)
}

func (w *world) checksOf(name string) []health.Check {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []health.Check
	for _, c := range w.checks {
		if c.Endpoint == name {
			out = append(out, c)
		}
	}
	return out
}

// checkNoKeyLeaked fails the test when any part of a key shows in a log
// line or in an endpoint's last error.
func (w *world) checkNoKeyLeaked() {
	w.mu.Lock()
	logs := w.logs.String()
	w.mu.Unlock()
	for _, c := range w.snap.Load().Clusters {
		for _, ep := range c.Endpoints {
			k := key(ep.Name)
			last, _ := ep.State.LastError()
			for i := 0; i+12 <= len(k); i += 6 {
				if part := k[i : i+12]; strings.Contains(logs, part) || strings.Contains(last+ep.State.Reason(), part) {
					w.t.Errorf("key fragment %q of %s leaked", part, ep.Name)
				}
			}
		}
	}
}

// memNet is a RoundTripper to in-memory upstreams, by host. It counts what
// each receives, telling health checks (by their User-Agent) from real
// requests, and keeps when each real request came.
type memNet struct {
	mu       sync.Mutex
	hosts    map[string]*host
	order    []string // hosts in the order checks reached them
	inflight int      // checks in flight now, over all hosts
	top      int      // the most checks in flight at once
}

type host struct {
	handler       http.Handler
	probes, real  int
	realAt        []time.Time
	inflight, top int // checks in flight now, and the most at once
}

func (n *memNet) add(name string, h http.Handler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.hosts[name]; !ok {
		n.hosts[name] = &host{handler: h}
	}
}

func isProbe(r *http.Request) bool { return r.Header.Get("User-Agent") == "qccd-health-check" }

func (n *memNet) RoundTrip(req *http.Request) (*http.Response, error) {
	n.mu.Lock()
	h, ok := n.hosts[req.URL.Host]
	if !ok {
		n.mu.Unlock()
		return nil, fmt.Errorf("no host %s", req.URL.Host)
	}
	probe := isProbe(req)
	if probe {
		h.probes++
		h.inflight++
		h.top = max(h.top, h.inflight)
		n.inflight++
		n.top = max(n.top, n.inflight)
		n.order = append(n.order, strings.TrimSuffix(req.URL.Host, ".test"))
	} else {
		h.real++
		h.realAt = append(h.realAt, time.Now())
	}
	n.mu.Unlock()
	defer func() {
		if probe {
			n.mu.Lock()
			h.inflight--
			n.inflight--
			n.mu.Unlock()
		}
	}()

	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, in)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// probeOrder returns the hosts checks reached, in order.
func (n *memNet) probeOrder() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.order...)
}

// maxInflight returns the most checks that were in flight at once.
func (n *memNet) maxInflight() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.top
}

// counts returns what host name received: checks and real requests.
func (n *memNet) counts(name string) (probes, real int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.hosts[name+".test"]
	return h.probes, h.real
}

// realSince counts the real requests host name received at or after t.
func (n *memNet) realSince(name string, t time.Time) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, at := range n.hosts[name+".test"].realAt {
		if !at.Before(t) {
			c++
		}
	}
	return c
}

type syncWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// fake returns a fake upstream and its handler.
func fake(opts fakeupstream.Options) *fakeupstream.Server { return fakeupstream.New(opts) }
