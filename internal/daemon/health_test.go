package daemon_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

// counted serves an upstream and counts the real requests it gets, apart
// from health checks (known by their User-Agent).
type counted struct {
	h    http.Handler
	mu   sync.Mutex
	real int
}

func (c *counted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("User-Agent") != "qccd-health-check" {
		c.mu.Lock()
		c.real++
		c.mu.Unlock()
	}
	c.h.ServeHTTP(w, r)
}

func (c *counted) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.real
}

// stateChanges returns the daemon's "endpoint state changed" log lines,
// reduced to the fields an operator reads.
func stateChanges(t *testing.T, logs string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var l struct {
			Level, Message, Cluster, Endpoint, From, To, Reason string
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Message != "endpoint state changed" {
			continue
		}
		out = append(out, fmt.Sprintf("%s cluster=%s endpoint=%s from=%s to=%s reason=%q", l.Level, l.Cluster, l.Endpoint, l.From, l.To, l.Reason))
	}
	return out
}

// TestGarbageEndpointEjected runs qccd with one endpoint that answers
// every request with a 200 and an HTML page, and one good endpoint, with
// verify checks every second. Real requests flow to both until the checks
// eject the broken one; after that it gets none. The test logs the state
// changes and the counts (go test -run GarbageEndpointEjected -v).
func TestGarbageEndpointEjected(t *testing.T) {
	good := &counted{h: fakeupstream.New(fakeupstream.Options{})}
	broken := fakeupstream.New(fakeupstream.Options{})
	broken.SetFault(fakeupstream.Fault{Garbage: true})
	bad := &counted{h: broken}
	goodSrv, badSrv := httptest.NewServer(good), httptest.NewServer(bad)
	t.Cleanup(goodSrv.Close)
	t.Cleanup(badSrv.Close)

	in := start(t, fmt.Sprintf(`[daemon]
admin_socket = ""
watch = false

[clusters.prod]
listen = "127.0.0.1:0"
strategy = "round-robin"

[clusters.prod.health]
kind = "verify"
interval = "1s"
timeout = "5s"
unhealthy_after = 3
healthy_after = 2

[[clusters.prod.endpoints]]
name = "good"
base_url = %q
api_key = "sk-ant-api03-good-SECRETSECRETSECRET"

[[clusters.prod.endpoints]]
name = "garbage"
base_url = %q
api_key = "sk-ant-api03-garbage-SECRETSECRETSECRET"
`, goodSrv.URL, badSrv.URL))

	ejected := func() bool {
		for _, l := range stateChanges(t, in.logs.String()) {
			if strings.Contains(l, "endpoint=garbage") && strings.Contains(l, "to=cooling-down") {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(30 * time.Second)
	before := 0
	for !ejected() {
		if time.Now().After(deadline) {
			t.Fatalf("the garbage endpoint was not ejected in 30s; logs:\n%s", in.logs.String())
		}
		post(t, in.url("prod"), false)
		before++
		time.Sleep(100 * time.Millisecond)
	}
	goodBefore, badBefore := good.count(), bad.count()

	const after = 100
	for range after {
		if resp, body := post(t, in.url("prod"), false); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d after ejection: %s", resp.StatusCode, body)
		}
	}
	goodAfter, badAfter := good.count()-goodBefore, bad.count()-badBefore

	for _, l := range stateChanges(t, in.logs.String()) {
		t.Logf("log: %s", l)
	}
	t.Logf("before ejection: %d requests, good got %d, garbage got %d", before, goodBefore, badBefore)
	t.Logf("after ejection: %d requests, good got %d, garbage got %d", after, goodAfter, badAfter)
	if badAfter != 0 || goodAfter != after {
		t.Errorf("after ejection good got %d and garbage %d of %d requests; want all to good", goodAfter, badAfter, after)
	}
	if strings.Contains(in.logs.String(), "SECRETSECRET") {
		t.Error("a key appears in the log")
	}
}
