package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/admin/admintest"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

const (
	adminKeyA  = "sk-ant-api03-admin-test-key-A"
	adminKeyB  = "sk-ant-api03-admin-test-key-B"
	adminToken = "qcc-admin-token-for-tests"
)

// adminConfig is a cluster of two endpoints with keys, priority-ordered so
// that a goes first, with the admin API on a socket and on loopback TCP.
func adminConfig(t *testing.T, upA, upB string) string {
	return fmt.Sprintf(`[daemon]
admin_socket = %q
admin_listen = "127.0.0.1:0"
admin_token = %q
state_dir = %q
drain_timeout = "20s"

[clusters.prod]
listen = "127.0.0.1:0"
strategy = "priority"

[[clusters.prod.endpoints]]
name = "a"
base_url = %q
api_key = %q

[[clusters.prod.endpoints]]
name = "b"
base_url = %q
api_key = %q
priority = 2
`, admintest.SocketPath(t), adminToken, t.TempDir(), upA, adminKeyA, upB, adminKeyB)
}

// TestAdminAPIOnRealDaemon reads every route of a running qccd over the
// socket and over TCP with the token, after real traffic, and finds no key
// in any answer.
func TestAdminAPIOnRealDaemon(t *testing.T) {
	_, urlA := admintest.Upstream(t, fakeupstream.Options{APIKey: adminKeyA})
	_, urlB := admintest.Upstream(t, fakeupstream.Options{APIKey: adminKeyB})
	d := admintest.Start(t, adminConfig(t, urlA, urlB))
	for _, stream := range []bool{false, true} {
		if code, body := d.Send(t, "prod", stream); code != 200 {
			t.Fatalf("request: %d %s", code, body)
		}
	}

	routes := []struct{ method, path string }{
		{"GET", "/v1/status"},
		{"GET", "/v1/clusters"},
		{"GET", "/v1/endpoints"},
		{"GET", "/v1/endpoints?cluster=prod"},
		{"GET", "/v1/stats?window=1m"},
		{"GET", "/healthz"},
		{"GET", "/readyz"},
		{"GET", "/metrics"},
		{"GET", "/"},
		{"POST", "/v1/endpoints/prod/b/disable"},
		{"POST", "/v1/endpoints/prod/b/enable"},
		{"POST", "/v1/endpoints/prod/b/probe"},
		{"POST", "/v1/reload"},
	}
	unix := &http.Client{Transport: unixTransport(d.Socket)}
	for _, rt := range routes {
		for _, via := range []string{"socket", "tcp"} {
			req, err := http.NewRequest(rt.method, "http://"+d.TCP+rt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			hc := http.DefaultClient
			if via == "socket" {
				hc = unix
			} else {
				req.Header.Set("Authorization", "Bearer "+adminToken)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatalf("%s %s via %s: %v", rt.method, rt.path, via, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("%s %s via %s: %d %s", rt.method, rt.path, via, resp.StatusCode, body)
			}
			for _, secret := range []string{adminKeyA, adminKeyB, adminToken, "sk-ant-"} {
				if strings.Contains(string(body), secret) {
					t.Errorf("%s %s via %s: answer holds a secret:\n%s", rt.method, rt.path, via, body)
				}
			}
		}
	}

	ctx := context.Background()
	st, err := d.Client(t).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The collector takes events off a queue: wait for it to count both.
	admintest.WaitFor(t, "status to count the 2 requests", func() bool {
		st, err := d.Client(t).Status(ctx)
		return err == nil && st.Stats != nil && st.Stats.Requests == 2
	})
	if m, err := d.Client(t).Metrics(ctx); err != nil || !strings.Contains(string(m), "qccd_") {
		t.Errorf("metrics: %v\n%s", err, m)
	}
	if len(st.Clusters) != 1 || len(st.Clusters[0].Endpoints) != 2 || st.Clusters[0].Available != 2 {
		t.Fatalf("status clusters: %+v", st.Clusters)
	}
	a := st.Clusters[0].Endpoints[0]
	if a.Name != "a" || a.State != "available" || a.TTFB <= 0 || len(a.KeyFingerprint) != 8 {
		t.Errorf("endpoint a after traffic: %+v", a)
	}
	if st.Config.Source != d.ConfigPath || st.Config.LastReload == nil || !st.Config.LastReload.OK || len(st.Problems) != 0 {
		t.Errorf("config status: %+v, problems %q", st.Config, st.Problems)
	}
	if _, err := d.Client(t).Readyz(ctx); err != nil {
		t.Errorf("readyz: %v", err)
	}
	// With no health kind set, a probe asks /v1/models, which costs nothing.
	if res, err := d.Client(t).Probe(ctx, "prod", "a"); err != nil || !res.OK || res.Probe.Status != 200 || res.Endpoint.LastCheck == nil {
		t.Errorf("probe: %+v, %v", res, err)
	}
}

// TestAdminDrainLetsStreamsFinish drains the endpoint a stream is on: new
// requests go to the other endpoint at once, the stream ends whole, and
// the endpoint shows as draining until it has.
func TestAdminDrainLetsStreamsFinish(t *testing.T) {
	upA, urlA := admintest.Upstream(t, fakeupstream.Options{APIKey: adminKeyA, Events: 20, EventDelay: 100 * time.Millisecond})
	upB, urlB := admintest.Upstream(t, fakeupstream.Options{APIKey: adminKeyB})
	d := admintest.Start(t, adminConfig(t, urlA, urlB))
	c := d.Client(t)
	ctx := context.Background()

	type result struct {
		code int
		body string
	}
	streamed := make(chan result, 1)
	go func() {
		code, body := d.Send(t, "prod", true)
		streamed <- result{code, body}
	}()
	endpointA := func() adminapi.Endpoint {
		eps, err := c.Endpoints(ctx, "prod")
		if err != nil {
			t.Error(err)
			return adminapi.Endpoint{}
		}
		return eps[0]
	}
	admintest.WaitFor(t, "the stream to start on a", func() bool { return endpointA().Inflight == 1 })

	res, err := c.Drain(ctx, "prod", "a")
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Endpoint.Inflight != 1 || !res.Endpoint.Draining || res.Message != "prod/a is out of rotation; 1 request in flight will finish" {
		t.Errorf("drain answer: %+v", res)
	}
	// Count messages only: health checks may ask for /v1/models meanwhile.
	messages := func(up *fakeupstream.Server) int { return up.Stats().ByPath["/v1/messages"] }
	before := messages(upA)
	if code, body := d.Send(t, "prod", false); code != 200 {
		t.Fatalf("request during drain: %d %s", code, body)
	}
	if messages(upA) != before || messages(upB) != 1 {
		t.Errorf("during the drain a got %d new requests, b %d; want 0 and 1", messages(upA)-before, messages(upB))
	}
	if ep := endpointA(); !ep.Draining || ep.State != "disabled" {
		t.Errorf("a while its stream runs: %+v", ep)
	}

	r := <-streamed
	if r.code != 200 || !strings.Contains(r.body, "message_stop") {
		t.Errorf("drained stream did not finish whole: %d %s", r.code, r.body)
	}
	admintest.WaitFor(t, "a to be idle", func() bool { return endpointA().Inflight == 0 })
	if ep := endpointA(); ep.Draining || ep.State != "disabled" || ep.Reason != "drained" {
		t.Errorf("a after its stream: %+v", ep)
	}
}

// TestAdminReloadReportsErrors: a broken file is a 422 with file:line, the
// old config keeps serving, status lists the failure until a good reload.
func TestAdminReloadReportsErrors(t *testing.T) {
	_, urlA := admintest.Upstream(t, fakeupstream.Options{APIKey: adminKeyA})
	_, urlB := admintest.Upstream(t, fakeupstream.Options{APIKey: adminKeyB})
	good := adminConfig(t, urlA, urlB)
	d := admintest.Start(t, good)
	c := d.Client(t)
	ctx := context.Background()

	if err := os.WriteFile(d.ConfigPath, []byte(good+"\n[clusters.prod.bogus]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := c.Reload(ctx)
	var aerr *adminapi.APIError
	if !errors.As(err, &aerr) || aerr.StatusCode != 422 || !strings.Contains(aerr.Message, d.ConfigPath+":") {
		t.Fatalf("reload of a broken file: %v", err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Problems) != 1 || !strings.HasPrefix(st.Problems[0], "last reload failed, the previous config is still running: "+d.ConfigPath+":") {
		t.Errorf("problems after a failed reload: %q", st.Problems)
	}
	if code, body := d.Send(t, "prod", false); code != 200 {
		t.Errorf("old config stopped serving: %d %s", code, body)
	}

	if err := os.WriteFile(d.ConfigPath, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Reload(ctx); err != nil || !res.OK {
		t.Fatalf("reload of the good file: %+v, %v", res, err)
	}
	if st, _ := c.Status(ctx); len(st.Problems) != 0 {
		t.Errorf("problems after a good reload: %q", st.Problems)
	}
}

// unixTransport dials the admin socket whatever the URL's host.
func unixTransport(socket string) *http.Transport {
	return &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
}
