package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/pkg/adminapi"
)

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(a.body), &v); err != nil {
		t.Fatalf("answer is not JSON of %T: %v\n%s", v, err, a.body)
	}
	return v
}

// TestRoutes sends every route a request and checks its status, that the
// answer is JSON of the contract's shape, and that no key shows.
func TestRoutes(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write([]byte("qccd_up 1\n"))
	})
	r := newRig(t, rigOptions{metrics: metrics})
	tests := []struct {
		method, target string
		code           int
		contains       string // in the body
	}{
		{"GET", "/healthz", 200, `"status": "ok"`},
		{"GET", "/readyz", 200, `"status": "ready"`},
		{"GET", "/metrics", 200, "qccd_up 1"},
		{"GET", "/v1/status", 200, `"version": "v9.9.9-test"`},
		{"GET", "/v1/clusters", 200, `"name": "prod"`},
		{"GET", "/v1/endpoints", 200, `"name": "solo"`},
		{"GET", "/v1/endpoints?cluster=dev", 200, `"name": "solo"`},
		{"GET", "/v1/endpoints?cluster=nope", 404, `"error": "no cluster \"nope\""`},
		{"GET", "/v1/stats", 200, `"window": "5m0s"`},
		{"GET", "/v1/stats?window=1m", 200, `"window": "1m0s"`},
		{"GET", "/v1/stats?window=1h", 200, `"window": "1h0m0s"`},
		{"GET", "/v1/stats?window=total", 200, `"window": "0s"`},
		{"GET", "/v1/stats?window=2m", 400, `window \"2m\": want one of 1m, 5m, 1h or total`},
		{"POST", "/v1/endpoints/prod/a/disable", 200, `"state": "disabled"`},
		{"POST", "/v1/endpoints/prod/a/enable", 200, `"state": "unknown"`},
		{"POST", "/v1/endpoints/prod/a/drain", 200, `is out of rotation and idle`},
		{"POST", "/v1/endpoints/prod/a/probe", 200, `"ok": true`},
		{"POST", "/v1/endpoints/prod/b/probe", 200, `b failed the probe: invalid response`},
		{"POST", "/v1/endpoints/dev/solo/probe", 409, `no active health check`},
		{"POST", "/v1/endpoints/prod/nope/enable", 404, `no endpoint \"nope\" in cluster \"prod\"`},
		{"POST", "/v1/endpoints/nope/a/disable", 404, `no cluster \"nope\"`},
		{"POST", "/v1/endpoints/prod/a/explode", 404, `no such route: POST /v1/endpoints/prod/a/explode`},
		{"POST", "/v1/reload", 200, `"message": "config reloaded from clusters.toml"`},
		{"GET", "/v1/reload", 405, `GET is not allowed on /v1/reload; use POST`},
		{"DELETE", "/v1/status", 405, `use GET, HEAD`},
		{"GET", "/v2/status", 404, `no such route: GET /v2/status`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			a := r.do(tt.method, tt.target, nil)
			if a.code != tt.code || !strings.Contains(a.body, tt.contains) {
				t.Errorf("%d %s\nwant %d with %q", a.code, a.body, tt.code, tt.contains)
			}
			if tt.target != "/metrics" {
				if ct := a.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				if a.code >= 400 {
					if e := decode[adminapi.Error](t, a); e.Error == "" {
						t.Errorf("error answer without a message: %s", a.body)
					}
				}
			}
		})
	}
	if a := r.do("GET", "/v1/reload", nil); a.header.Get("Allow") != "POST" {
		t.Errorf("405 without Allow: POST: %v", a.header)
	}
}

func TestStatus(t *testing.T) {
	r := newRig(t, rigOptions{})
	st := decode[adminapi.Status](t, r.do("GET", "/v1/status", nil))
	if st.Version != "v9.9.9-test" || st.Config.Source != "clusters.toml" || st.Config.SHA256 == "" {
		t.Errorf("status header: %+v", st)
	}
	if up := time.Duration(st.Uptime); up < 90*time.Minute || up > 91*time.Minute || up%time.Second != 0 {
		t.Errorf("uptime %v, want 1h30m and whole seconds", up)
	}
	if len(st.Problems) != 0 || st.Config.LastReload != nil {
		t.Errorf("fresh daemon reports problems %q, last reload %+v", st.Problems, st.Config.LastReload)
	}
	if st.Stats == nil || st.Stats.Requests != 42 {
		t.Errorf("status stats = %+v, want the 5m summary", st.Stats)
	}
	if len(st.Clusters) != 2 || st.Clusters[0].Name != "prod" || st.Clusters[1].Name != "dev" {
		t.Fatalf("clusters not in config order: %+v", st.Clusters)
	}
	prod := st.Clusters[0]
	if prod.Listen != "127.0.0.1:7860" || prod.Strategy != "weighted" || prod.Affinity != "none" || prod.Available != 2 {
		t.Errorf("prod = %+v", prod)
	}
	a, b := prod.Endpoints[0], prod.Endpoints[1]
	snap := r.daemon.Snapshot()
	wantFP := snap.Cluster("prod").Endpoint("a").Config.APIKey.Fingerprint()
	if a.KeyFingerprint != wantFP || len(wantFP) != 8 || a.Weight != 70 || a.EffectiveWeight != 70 || a.Auth != "x-api-key" || a.State != "unknown" {
		t.Errorf("endpoint a = %+v", a)
	}
	if b.BaseURL != "https://b.example.com/relay" || b.Priority != 2 || b.Auth != "bearer" || b.KeyFingerprint == a.KeyFingerprint {
		t.Errorf("endpoint b = %+v", b)
	}
	if solo := st.Clusters[1].Endpoints[0]; solo.KeyFingerprint != "" || solo.Auth != "passthrough" {
		t.Errorf("passthrough endpoint = %+v", solo)
	}

	t.Run("without stats", func(t *testing.T) {
		r := newRig(t, rigOptions{noStats: true})
		st := decode[adminapi.Status](t, r.do("GET", "/v1/status", nil))
		if st.Stats != nil {
			t.Errorf("stats %+v without a collector", st.Stats)
		}
		if a := r.do("GET", "/v1/stats", nil); a.code != 501 || !strings.Contains(a.body, "does not collect stats") {
			t.Errorf("%d %s", a.code, a.body)
		}
		if a := r.do("GET", "/v1/stats?window=2h", nil); a.code != 400 {
			t.Errorf("a bad window is a 400 even without stats: %d %s", a.code, a.body)
		}
	})
}

// TestProblems: endpoints that are down, a cluster with nothing left and a
// failed reload are problems; an endpoint an operator disabled is not.
func TestProblems(t *testing.T) {
	r := newRig(t, rigOptions{})
	snap := r.daemon.Snapshot()
	prod := snap.Cluster("prod")
	now := time.Now()
	prod.Endpoint("a").State.Report(now, prod.Policy, endpointResult(429))
	prod.Endpoint("b").State.Report(now, prod.Policy, endpointResult(401))
	snap.Cluster("dev").Endpoint("solo").State.SetDisabled(true, "by hand")
	r.daemon.reloadErr = errors.New("clusters.toml:3: listen is required")
	if _, err := r.client.Reload(context.Background()); err == nil {
		t.Fatal("reload did not fail")
	}

	st, err := r.client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"endpoint prod/a is cooling down until ",
		"endpoint prod/b failed authentication",
		"cluster prod has no endpoint taking traffic",
		"cluster dev has no endpoint taking traffic",
		"last reload failed, the previous config is still running: clusters.toml:3: listen is required",
	}
	if len(st.Problems) != len(want) {
		t.Fatalf("problems:\n%s\nwant %d", strings.Join(st.Problems, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(st.Problems[i], w) {
			t.Errorf("problem %d = %q, want it to start with %q", i, st.Problems[i], w)
		}
	}
	if a := st.Clusters[0].Endpoints[0]; a.State != "cooling-down" || a.CooldownUntil == nil || !a.CooldownUntil.After(now) || a.LastError != "Too Many Requests" {
		t.Errorf("cooling endpoint = %+v", a)
	}
}

func TestActions(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	st := r.daemon.Snapshot().Cluster("prod").Endpoint("a").State

	res, err := r.client.Disable(ctx, "prod", "a")
	if err != nil || !res.OK || res.Endpoint.State != "disabled" || res.Endpoint.Reason != "disabled by operator" || st.Status().String() != "disabled" {
		t.Fatalf("disable: %+v, %v", res, err)
	}
	if res, _ := r.client.Disable(ctx, "prod", "a"); res.Message != "prod/a was already disabled; nothing changed" {
		t.Errorf("second disable: %q", res.Message)
	}
	if res, err := r.client.Enable(ctx, "prod", "a"); err != nil || res.Message != "prod/a is back in rotation" || res.Endpoint.State != "unknown" {
		t.Fatalf("enable: %+v, %v", res, err)
	}
	if res, _ := r.client.Enable(ctx, "prod", "a"); res.Message != "prod/a was not disabled (unknown); nothing changed" {
		t.Errorf("second enable: %q", res.Message)
	}

	// Drain with two requests in flight: out of rotation at once, and shown
	// as draining until both are done.
	st.Begin()
	st.Begin()
	res, err = r.client.Drain(ctx, "prod", "a")
	if err != nil || res.Message != "prod/a is out of rotation; 2 requests in flight will finish" ||
		res.Endpoint.Inflight != 2 || !res.Endpoint.Draining || res.Endpoint.State != "disabled" || res.Endpoint.Reason != "drained" {
		t.Fatalf("drain: %+v, %v", res, err)
	}
	if st.Eligible(time.Now()) {
		t.Error("a drained endpoint still takes new requests")
	}
	draining := func() (bool, int64) {
		eps, err := r.client.Endpoints(ctx, "prod")
		if err != nil {
			t.Fatal(err)
		}
		return eps[0].Draining, eps[0].Inflight
	}
	if d, n := draining(); !d || n != 2 {
		t.Errorf("endpoints: draining %v with %d in flight, want true with 2", d, n)
	}
	st.End()
	if d, n := draining(); !d || n != 1 {
		t.Errorf("endpoints: draining %v with %d in flight, want true with 1", d, n)
	}
	st.End()
	if d, n := draining(); d || n != 0 {
		t.Errorf("endpoints: draining %v with %d in flight, want false with 0", d, n)
	}
	if st, _ := r.client.Status(ctx); len(st.Problems) != 0 {
		t.Errorf("a drained endpoint is not a problem: %q", st.Problems)
	}
}

func TestProbe(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOptions{})
	res, err := r.client.Probe(ctx, "prod", "a")
	if err != nil || !res.OK || res.Probe == nil || res.Probe.Status != 200 || res.Endpoint == nil || res.Endpoint.Name != "a" {
		t.Fatalf("probe a: %+v, %v", res, err)
	}
	res, err = r.client.Probe(ctx, "prod", "b")
	if err != nil || res.OK || res.Probe.Reason != "invalid response" {
		t.Fatalf("probe b: %+v, %v", res, err)
	}

	r = newRig(t, rigOptions{noProber: true})
	_, err = r.client.Probe(ctx, "prod", "a")
	var aerr *adminapi.APIError
	if !errors.As(err, &aerr) || aerr.StatusCode != 501 || aerr.Message != "this qccd has no active health checks, so it cannot probe" {
		t.Errorf("probe without a prober: %v", err)
	}
	if a := r.do("GET", "/metrics", nil); a.code != 501 || !strings.Contains(a.body, "does not export metrics") {
		t.Errorf("metrics without a handler: %d %s", a.code, a.body)
	}
}

func TestReload(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOptions{})
	res, err := r.client.Reload(ctx)
	if err != nil || !res.OK {
		t.Fatalf("reload: %+v, %v", res, err)
	}
	r.daemon.reloadErr = errors.New("clusters.toml:7: base_url is required\nclusters.toml:9: weight must be at least 0")
	_, err = r.client.Reload(ctx)
	var aerr *adminapi.APIError
	if !errors.As(err, &aerr) || aerr.StatusCode != 422 ||
		aerr.Message != "reload rejected, the running config is unchanged:\nclusters.toml:7: base_url is required\nclusters.toml:9: weight must be at least 0" {
		t.Fatalf("failed reload: %v", err)
	}
	if got := strings.Join(r.daemon.triggers, ","); got != "admin API,admin API" {
		t.Errorf("triggers %q", got)
	}
}

func TestReadyz(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.daemon.ready.Store(false)
	if a := r.do("GET", "/readyz", nil); a.code != 503 || !strings.Contains(a.body, "not ready") {
		t.Errorf("not ready: %d %s", a.code, a.body)
	}
	if a := r.do("GET", "/healthz", nil); a.code != 200 {
		t.Errorf("healthz while not ready: %d %s", a.code, a.body)
	}
	r.daemon.ready.Store(true)
	if _, err := r.client.Readyz(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestDashboard(t *testing.T) {
	r := newRig(t, rigOptions{})
	tests := []struct {
		target, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `<canvas id="chart-rate"`},
		{"/assets/app.js", "text/javascript; charset=utf-8", "v1/status"},
		{"/assets/chart.js", "text/javascript; charset=utf-8", "data-points"},
		{"/assets/style.css", "text/css; charset=utf-8", ".state.available"},
	}
	for _, tt := range tests {
		a := r.do("GET", tt.target, nil)
		if a.code != 200 || a.header.Get("Content-Type") != tt.contentType || !strings.Contains(a.body, tt.contains) {
			t.Errorf("GET %s: %d %q, want 200 %q with %q", tt.target, a.code, a.header.Get("Content-Type"), tt.contentType, tt.contains)
		}
		if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", tt.target, csp)
		}
	}
	if a := r.do("GET", "/assets/nope.js", nil); a.code != 404 {
		t.Errorf("missing asset: %d", a.code)
	}
}
