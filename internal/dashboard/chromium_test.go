package dashboard_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/admin/admintest"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

var update = flag.Bool("update", false, "take a new screenshot for docs/dashboard.png")

// screenshot is where -update puts the picture the docs show.
const screenshot = "../../docs/dashboard.png"

const token = "dashboard-test-token"

// TestDashboardInChromium loads the dashboard of a real qccd in headless
// Chromium while traffic flows, and reads the DOM the page built: both
// endpoints are in the table and the charts have points. The page polls on
// timers; Chromium's virtual time runs them without waiting in real time.
func TestDashboardInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium); skipping the dashboard's browser test")
	}
	_, fast := admintest.Upstream(t, fakeupstream.Options{APIKey: "sk-ant-api03-dash-A", Events: 4, EventDelay: 5 * time.Millisecond,
		InputTokens: 1200, CacheReadTokens: 30000})
	_, slow := admintest.Upstream(t, fakeupstream.Options{APIKey: "sk-ant-api03-dash-B", Events: 8, EventDelay: 20 * time.Millisecond,
		InputTokens: 900, CacheCreationTokens: 4000})
	d := admintest.Start(t, fmt.Sprintf(`[daemon]
admin_socket = %q
admin_listen = "127.0.0.1:0"
admin_token = %q
state_dir = %q

[clusters.prod]
listen = "127.0.0.1:0"
strategy = "weighted"

[[clusters.prod.endpoints]]
name = "fast"
base_url = %q
api_key = "sk-ant-api03-dash-A"
weight = 100

[[clusters.prod.endpoints]]
name = "slow"
base_url = %q
api_key = "sk-ant-api03-dash-B"
weight = 60
`, admintest.SocketPath(t), token, t.TempDir(), fast, slow))

	// Traffic before and while the page loads, so that rates are not zero.
	for i := range 6 {
		d.Send(t, "prod", i%2 == 0)
	}
	ctx, stopTraffic := context.WithCancel(context.Background())
	var traffic sync.WaitGroup
	traffic.Go(func() {
		// Not d.Send: only the test's own goroutine may fail the test.
		for i := 0; ctx.Err() == nil; i++ {
			body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":16,"stream":%t,"messages":[{"role":"user","content":"hi"}]}`, i%3 != 0)
			req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+d.Addrs["prod"]+"/v1/messages", strings.NewReader(body))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	})
	defer func() {
		stopTraffic()
		traffic.Wait()
	}()

	url := "http://" + d.TCP + "/#token=" + token
	dom := runChromium(t, chromium, "--dump-dom", url)

	if m := regexp.MustCompile(`data-polls="(\d+)"`).FindStringSubmatch(dom); m == nil || atoi(m[1]) < 3 {
		t.Fatalf("the page did not poll at least 3 times (%v):\n%s", m, dom)
	}
	for _, ep := range []string{"prod/fast", "prod/slow"} {
		row := regexp.MustCompile(`<tr data-endpoint="` + regexp.QuoteMeta(ep) + `" data-state="(available|unknown)">`)
		if !row.MatchString(dom) {
			t.Errorf("no usable row for %s in the endpoint table:\n%s", ep, dom)
		}
	}
	for _, chart := range []string{"chart-rate", "chart-ttfb", "chart-tokens", "chart-weight"} {
		m := regexp.MustCompile(`<canvas id="` + chart + `" data-points="(\d+)"`).FindStringSubmatch(dom)
		if m == nil || atoi(m[1]) == 0 {
			t.Errorf("%s has no data points: %v", chart, m)
		}
	}
	if regexp.MustCompile(`class="live error"`).MatchString(dom) {
		t.Errorf("the page could not reach the admin API:\n%s", dom)
	}

	if *update {
		runChromium(t, chromium, "--screenshot="+mustAbs(t, screenshot), "--window-size=1280,880", "--hide-scrollbars", url)
		t.Logf("wrote %s", screenshot)
	}
}

// runChromium runs headless Chromium on url with args and returns stdout.
// Virtual time lets the page's two-second polls run without the wait.
func runChromium(t *testing.T, chromium string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=20000",
	}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	var stderr lockedWriter
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		t.Fatal(err)
	}
	return abs
}

type lockedWriter struct {
	mu  sync.Mutex
	buf []byte
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
