package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/buildinfo"
	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/metrics"
)

// testKey is every test endpoint's key, to prove it never reaches /metrics.
const testKey = "sk-ant-api03-metricstest-SECRETSECRETSECRET"

// snapshot builds a runtime snapshot from cluster specs such as
// "prod: a b", with reg carrying endpoint state across builds as a reload does.
func snapshot(t testing.TB, reg *cluster.Registry, clusters ...string) *cluster.Snapshot {
	t.Helper()
	var b strings.Builder
	for i, spec := range clusters {
		name, eps, _ := strings.Cut(spec, ":")
		fmt.Fprintf(&b, "[clusters.%s]\nlisten = \"127.0.0.1:%d\"\n", name, 17100+i)
		for j, ep := range strings.Fields(eps) {
			fmt.Fprintf(&b, "[[clusters.%s.endpoints]]\nname = %q\nbase_url = \"http://127.0.0.1:%d\"\napi_key = %q\nweight = %d\n",
				name, ep, 18000+10*i+j, testKey, 100-10*j)
		}
	}
	cfg, err := config.Parse("test.toml", []byte(b.String()), config.Options{FileMode: 0o600, LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("config:\n%s\n%v", b.String(), err)
	}
	snap, err := reg.Build(cfg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// fixture is Metrics over a snapshot the test can swap, as a reload does.
type fixture struct {
	reg  *cluster.Registry
	snap atomic.Pointer[cluster.Snapshot]
	m    *metrics.Metrics
}

// reloadedAt is the fixed time of the fixture's last successful reload.
var reloadedAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newFixture(t testing.TB, clusters ...string) *fixture {
	f := &fixture{reg: cluster.NewRegistry(nil)}
	f.snap.Store(snapshot(t, f.reg, clusters...))
	f.m = metrics.New(metrics.Options{
		Snapshot:   f.snap.Load,
		LastReload: func() metrics.Reload { return metrics.Reload{OK: false, LastSuccess: reloadedAt} },
		Dropped:    func() int64 { return 3 },
		Build:      buildinfo.Info{Version: "1.2.3", Revision: "abc1234", GoVersion: "go1.26.8"},
	})
	return f
}

func (f *fixture) reload(t testing.TB, clusters ...string) {
	f.snap.Store(snapshot(t, f.reg, clusters...))
}

// scrape fetches /metrics as Prometheus would.
func scrape(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// qccdLines keeps the lines about qccd_* metrics, dropping the Go
// runtime's and the process's, which change from run to run.
func qccdLines(text string) string {
	var out strings.Builder
	for line := range strings.Lines(text) {
		name := strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE ")
		if strings.HasPrefix(name, "qccd_") {
			out.WriteString(line)
		}
	}
	return out.String()
}
