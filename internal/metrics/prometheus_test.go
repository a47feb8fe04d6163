package metrics_test

import (
	"github.com/qcc-dev/qcc/internal/testutil"

	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPrometheusScrapes starts a real Prometheus server (Debian's
// prometheus package) on loopback, has it scrape the metrics every second,
// and asks its query API for qccd_* series: what Prometheus stored must be
// what qccd counted.
func TestPrometheusScrapes(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (apt-get install prometheus): skipping the scrape test against a real server")
	}
	f := newFixture(t, "prod: a b", "dev: x")
	for _, ev := range events() {
		f.m.Observe(ev)
	}
	f.m.ObserveHealthCheck("prod", "a", "ok")
	target := httptest.NewServer(f.m.Handler())
	defer target.Close()

	api := startPrometheus(t, bin, strings.TrimPrefix(target.URL, "http://"))

	// Wait for a scrape that has reached the TSDB.
	deadline := time.Now().Add(90 * time.Second)
	for {
		if v, ok := queryScalar(t, api, `up{job="qccd"}`); ok && v == 1 {
			if _, ok := queryScalar(t, api, `qccd_build_info`); ok {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("Prometheus never scraped the metrics")
		}
		time.Sleep(250 * time.Millisecond)
	}

	tests := []struct {
		query string
		want  float64
	}{
		{`qccd_tokens_total{cluster="prod",endpoint="a",kind="input"}`, 1300},
		{`qccd_tokens_total{cluster="prod",endpoint="a",kind="cache_read"}`, 50000},
		{`sum(qccd_tokens_total{cluster="prod"})`, 1300 + 301 + 50000 + 2000 + 10 + 5},
		{`qccd_failovers_total{cluster="prod"}`, 2},
		{`sum(qccd_request_duration_seconds_count{cluster="prod"})`, 6},
		{`qccd_request_duration_seconds_bucket{cluster="prod",endpoint="a",code="200",le="600"}`, 2},
		{`qccd_request_ttfb_seconds_count{cluster="dev",endpoint="x"}`, 1},
		{`qccd_stream_errors_total{cluster="prod",endpoint="a"}`, 1},
		{`qccd_health_checks_total{cluster="prod",endpoint="a",result="ok"}`, 1},
		{`qccd_endpoint_state{cluster="prod",endpoint="b",state="unknown"}`, 1},
		{`qccd_endpoint_effective_weight{cluster="prod",endpoint="b"}`, 90},
		{`qccd_config_last_reload_successful`, 0},
		{`qccd_config_last_reload_success_timestamp_seconds`, float64(reloadedAt.Unix())},
		{`qccd_stats_dropped_events_total`, 3},
		{`count(qccd_build_info{version="1.2.3",revision="abc1234"})`, 1},
	}
	for _, tc := range tests {
		got, ok := queryScalar(t, api, tc.query)
		if !ok || got != tc.want {
			t.Errorf("%s = %v (found %t), want %v", tc.query, got, ok, tc.want)
		} else {
			t.Logf("%s = %v", tc.query, got)
		}
	}
}

// startPrometheus runs Prometheus with its own config and storage in a
// temporary directory, on a free loopback port, scraping target every
// second; it is stopped by its PID when the test ends. It returns the
// base URL of its HTTP API.
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	err := os.WriteFile(cfg, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: qccd
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: [%q]
`, target), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	var logs testutil.LogBuffer
	cmd := exec.Command(bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.console.templates="+dir,
		"--web.console.libraries="+dir,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	})

	api := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("prometheus exited at start: %v\n%s", err, logs.String())
		default:
		}
		if resp, err := http.Get(api + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return api
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready on %s:\n%s", addr, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freeLoopbackAddr returns a loopback address whose port was free a moment
// ago. Another process could take it before Prometheus binds; the test
// would then fail with Prometheus' own message, not hang.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// queryScalar runs an instant query and returns the value of its single
// sample; ok is false when the result has no sample or several.
func queryScalar(t *testing.T, api, query string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(api + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %s: %v %s", query, err, body.Error)
	}
	if len(body.Data.Result) != 1 {
		return 0, false
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}
