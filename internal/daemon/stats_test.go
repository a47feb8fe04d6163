package daemon_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/sse"
	"github.com/qcc-dev/qcc/internal/stats"
)

// savedTotals reads the prod cluster's totals from a state directory.
func savedTotals(t *testing.T, dir string) (requests int64, tokens sse.Usage) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, stats.StateFile))
	if err != nil {
		t.Fatalf("no saved stats: %v", err)
	}
	var st struct {
		Series []struct {
			Cluster, Endpoint string
			Requests          int64
			Tokens            struct {
				Input, Output int64
				CacheRead     int64 `json:"cache_read"`
				CacheCreation int64 `json:"cache_creation"`
			}
		}
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("saved stats: %v", err)
	}
	for _, s := range st.Series {
		if s.Cluster == "prod" && s.Endpoint == "" {
			return s.Requests, sse.Usage{Input: s.Tokens.Input, Output: s.Tokens.Output, CacheRead: s.Tokens.CacheRead, CacheCreation: s.Tokens.CacheCreation}
		}
	}
	return 0, sse.Usage{}
}

func statsConfig(upURL, stateDir string) string {
	return fmt.Sprintf(`[daemon]
admin_socket = ""
state_dir = %q

[clusters.prod]
listen = "127.0.0.1:0"

[[clusters.prod.endpoints]]
name = "main"
base_url = %q
auth = "passthrough"
`, stateDir, upURL)
}

// TestStatsSurviveRestart runs qccd twice on one state directory: each stop
// saves the totals, including requests that finished during the drain, and
// the next start carries on from them.
func TestStatsSurviveRestart(t *testing.T) {
	up, upURL := upstream(t, fakeupstream.Options{CacheReadTokens: 700})
	dir := filepath.Join(t.TempDir(), "state")
	sent := 0
	for run, n := range []int{5, 3} {
		in := start(t, statsConfig(upURL, dir))
		for i := range n {
			if resp, body := post(t, in.url("prod"), i%2 == 0); resp.StatusCode != 200 {
				t.Fatalf("run %d: status %d: %s", run, resp.StatusCode, body)
			}
			sent++
		}
		if err := in.stop(); err != nil {
			t.Fatalf("run %d: stop: %v", run, err)
		}
		requests, tokens := savedTotals(t, dir)
		if requests != int64(sent) {
			t.Errorf("after run %d: %d requests saved, want %d", run, requests, sent)
		}
		if want := up.Stats().Tokens; tokens != want {
			t.Errorf("after run %d: tokens saved %+v, the upstream served %+v", run, tokens, want)
		}
	}
}

// TestUnwritableStateDirDoesNotStopQccd: stats that cannot be saved are
// an error in the log, not a daemon that refuses to serve.
func TestUnwritableStateDirDoesNotStopQccd(t *testing.T) {
	_, upURL := upstream(t, fakeupstream.Options{})
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	in := start(t, statsConfig(upURL, filepath.Join(file, "state")))
	if resp, body := post(t, in.url("prod"), false); resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if err := in.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if !strings.Contains(in.logs.String(), "cannot save stats") {
		t.Errorf("the failed save was not logged:\n%s", in.logs.String())
	}
}

// TestStatsKeepRequestsFinishedDuringDrain stops qccd while a stream is in
// flight: the stream finishes during the drain, after the stats component
// was told to stop, and must still be in the saved totals.
func TestStatsKeepRequestsFinishedDuringDrain(t *testing.T) {
	up, upURL := upstream(t, fakeupstream.Options{Events: 5, EventDelay: 100 * time.Millisecond})
	dir := t.TempDir()
	in := start(t, statsConfig(upURL, dir))
	streamed := make(chan error, 1)
	go func() {
		body := `{"model":"claude-sonnet-4-5","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
		resp, err := http.Post(in.url("prod")+"/v1/messages", "application/json", strings.NewReader(body))
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		streamed <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for up.Stats().StreamsStarted == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := in.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := <-streamed; err != nil {
		t.Fatalf("stream: %v", err)
	}
	if up.Stats().StreamsCompleted != 1 {
		t.Fatal("the stream did not finish during the drain")
	}
	if requests, _ := savedTotals(t, dir); requests != 1 {
		t.Errorf("%d requests saved, want the stream that finished during the drain", requests)
	}
}

// testStateDir keeps the tests' stats out of /var/lib/qccd: a temporary
// directory, unless the test's config names its own state_dir.
func testStateDir(t *testing.T, cfg string) string {
	if strings.Contains(cfg, "state_dir") {
		return ""
	}
	return t.TempDir()
}
