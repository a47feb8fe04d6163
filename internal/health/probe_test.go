package health_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/health"
)

// TestProbeOnDemand: Probe (qcc probe, the admin API) checks an endpoint
// at once with the cluster's kind and feeds the state like a scheduled
// check.
func TestProbeOnDemand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, verifyEveryMinute,
			upstream{name: "good", handler: fake(fakeupstream.Options{})},
			upstream{name: "bad", handler: emptyContent()})
		p, err := w.sched.Probe(context.Background(), w.ep("good"))
		if err != nil || !p.OK || p.Status != 200 || p.Reason != "" {
			t.Fatalf("Probe(good) = %+v, %v", p, err)
		}
		if st := w.ep("good").State; st.Status() != endpoint.Available || st.LastCheck().IsZero() {
			t.Errorf("good: %s, last check %s", st.Status(), st.LastCheck())
		}
		p, err = w.sched.Probe(context.Background(), w.ep("bad"))
		if err != nil || p.OK || p.Reason != "invalid response: empty content" {
			t.Fatalf("Probe(bad) = %+v, %v", p, err)
		}
		if last, _ := w.ep("bad").State.LastError(); last != p.Reason {
			t.Errorf("last error %q, want %q", last, p.Reason)
		}
	})
}

// TestProbeOneAtATime: a check of an endpoint already in flight, scheduled
// or on demand, makes Probe answer ErrBusy rather than send a second.
func TestProbeOneAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake(fakeupstream.Options{})
		f.SetFault(fakeupstream.Fault{HeaderDelay: 5 * time.Second})
		w := newWorld(t, verifyEveryMinute, upstream{name: "a", handler: f})
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := w.sched.Probe(context.Background(), w.ep("a")); err != nil {
				t.Errorf("first Probe: %v", err)
			}
		})
		synctest.Wait()
		if _, err := w.sched.Probe(context.Background(), w.ep("a")); !errors.Is(err, health.ErrBusy) {
			t.Errorf("second Probe while the first runs: %v, want ErrBusy", err)
		}
		wg.Wait()
		if probes, _ := w.net.counts("a"); probes != 1 {
			t.Errorf("%d checks sent, want 1", probes)
		}
	})
}

// TestProbeWithoutChecks: a cluster with kind = "none" is probed with
// models, which costs no tokens; a passthrough endpoint cannot be probed.
func TestProbeWithoutChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var paths []string
		f := fake(fakeupstream.Options{})
		h := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			mu.Lock()
			paths = append(paths, r.Method+" "+r.URL.Path)
			mu.Unlock()
			f.ServeHTTP(rw, r)
		})
		w := newWorld(t, ``,
			upstream{name: "a", handler: h},
			upstream{name: "p", handler: h, extra: `auth = "passthrough"`, noKey: true})
		if p, err := w.sched.Probe(context.Background(), w.ep("a")); err != nil || !p.OK {
			t.Fatalf("Probe = %+v, %v", p, err)
		}
		if len(paths) != 1 || paths[0] != "GET /v1/models" {
			t.Errorf("probe sent %v, want GET /v1/models", paths)
		}
		if _, err := w.sched.Probe(context.Background(), w.ep("p")); !errors.Is(err, health.ErrNotCheckable) {
			t.Errorf("Probe(passthrough) = %v, want ErrNotCheckable", err)
		}
	})
}

// TestProbeCanceled: a probe whose caller leaves says nothing about the
// endpoint.
func TestProbeCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake(fakeupstream.Options{})
		f.SetFault(fakeupstream.Fault{HeaderDelay: time.Second})
		w := newWorld(t, verifyEveryMinute, upstream{name: "a", handler: f})
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if _, err := w.sched.Probe(ctx, w.ep("a")); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Probe = %v, want the caller's deadline", err)
		}
		st := w.ep("a").State
		if last, _ := st.LastError(); st.Status() != endpoint.Unknown || last != "" || !st.LastCheck().IsZero() {
			t.Errorf("a canceled probe was reported: %s, %q", st.Status(), last)
		}
	})
}

// TestProbeSendsWhatTheProxyWould: a check carries the endpoint's own
// credential as its auth mode says, the API version, and the configured
// model, to the endpoint's base path.
func TestProbeSendsWhatTheProxyWould(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got *http.Request
		var body []byte
		f := fake(fakeupstream.Options{})
		h := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			got = r.Clone(context.Background())
			body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.URL.Path = r.URL.Path[len("/relay"):]
			f.ServeHTTP(rw, r)
		})
		w := newWorld(t, `[clusters.test.health]
kind = "verify"
model = "claude-test-model"
`, upstream{name: "a", handler: h, extra: `auth = "bearer"`, path: "/relay"})
		if p, err := w.sched.Probe(context.Background(), w.ep("a")); err != nil || !p.OK {
			t.Fatalf("Probe = %+v, %v", p, err)
		}
		if got.URL.Path != "/relay/v1/messages" || got.Method != http.MethodPost {
			t.Errorf("%s %s", got.Method, got.URL.Path)
		}
		if a := got.Header.Get("Authorization"); a != "Bearer "+key("a") || got.Header.Get("X-Api-Key") != "" {
			t.Errorf("credentials not as auth = bearer says")
		}
		if v := got.Header.Get("Anthropic-Version"); v != "2023-06-01" {
			t.Errorf("anthropic-version %q", v)
		}
		if !bytes.Contains(body, []byte(`"model":"claude-test-model"`)) {
			t.Errorf("body %s does not name the configured model", body)
		}
	})
}
