package bench

import (
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConnReadsWhatUpstreamSends checks the load generator's client
// against the bench upstream: statuses, SSE event counts (a wrong count
// would make the "events spread out" check meaningless) and connection
// reuse across requests.
func TestConnReadsWhatUpstreamSends(t *testing.T) {
	srv := httptest.NewServer(Upstream{})
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	c := newConn(addr)
	defer c.close()

	plain := request(addr, "/v1/messages", benchHeader, messagesBody(false))
	for i := range 3 {
		res, err := c.do(plain, false)
		if err != nil || res.status != 200 {
			t.Fatalf("request %d: status %d, %v", i, res.status, err)
		}
	}
	first := c.c
	for _, events := range []int{5, 7, 20} {
		req := request(addr, "/v1/messages?events="+strconv.Itoa(events)+"&delay=2ms", benchHeader, messagesBody(true))
		res, err := c.do(req, true)
		if err != nil || res.status != 200 {
			t.Fatalf("stream of %d: status %d, %v", events, res.status, err)
		}
		if len(res.events) != events {
			t.Errorf("stream of %d: client counted %d events", events, len(res.events))
		}
		if spread := res.events[len(res.events)-1] - res.events[0]; spread < time.Duration(events-1)*time.Millisecond {
			t.Errorf("stream of %d events 2 ms apart arrived within %s", events, spread)
		}
	}
	if c.c != first {
		t.Errorf("the connection was not reused")
	}

	bad := request(addr, "/v1/messages?events=2", benchHeader, messagesBody(true))
	if res, err := c.do(bad, true); err != nil || res.status != 400 {
		t.Errorf("events=2: status %d, %v; want 400", res.status, err)
	}
}

func TestFlatness(t *testing.T) {
	flat := []procStat{{RSSKB: 30000, Threads: 9, FDs: 70}}
	for range 12 {
		flat = append(flat, procStat{RSSKB: 21000, Threads: 10, FDs: 68})
	}
	leaky := make([]procStat, 0, 13)
	goLeak := make([]procStat, 0, 13)
	for i := range 13 {
		leaky = append(leaky, procStat{RSSKB: 21000, Threads: 10, FDs: 68 + 40*i})
		goLeak = append(goLeak, procStat{RSSKB: 21000, Threads: 10, FDs: 68, Goroutines: 80 + 50*i})
	}
	for _, tc := range []struct {
		name    string
		samples []procStat
		want    string
	}{
		{"flat after warm-up", flat, ""},
		{"too short to judge", leaky[:3], ""},
		{"leaking fds", leaky, "open fds grew"},
		{"leaking goroutines", goLeak, "goroutines grew"},
	} {
		got := strings.Join(flatness(tc.samples), "; ")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: flatness = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestTreeCPUReadsThisProcess checks the /proc parsing behind the CPU
// columns on this process: it has run and its threads have switched.
func TestTreeCPUReadsThisProcess(t *testing.T) {
	before, err := treeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Millisecond)
	for time.Now().Before(deadline) { // burn some CPU
	}
	time.Sleep(time.Millisecond) // and switch out once
	after, err := treeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after.CPU-before.CPU < 10*time.Millisecond || after.Switches <= before.Switches {
		t.Errorf("before %+v, after %+v: want 10 ms more CPU and more switches", before, after)
	}
}
