package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/proxy"
	"github.com/qcc-dev/qcc/internal/stats"
	"github.com/qcc-dev/qcc/internal/testutil"
)

var (
	requestsFlag = flag.Int("chaos.requests", 0, "requests to send; 0 means $QCC_CHAOS_REQUESTS, else 300")
	seedFlag     = flag.Uint64("chaos.seed", 0, "seed of the faults; 0 picks one (printed, to replay a failure)")
)

// size is the number of requests: -chaos.requests, $QCC_CHAOS_REQUESTS, or
// a small default that keeps `make test` quick.
func size(t *testing.T) int {
	if *requestsFlag > 0 {
		return *requestsFlag
	}
	if v := os.Getenv("QCC_CHAOS_REQUESTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("QCC_CHAOS_REQUESTS=%q: want a positive integer", v)
		}
		return n
	}
	return 300
}

// upstream is one fake endpoint and the faults queued for it, one per
// request it may get (each request tries an endpoint at most once).
type upstream struct {
	name   string
	fake   *fakeupstream.Server
	srv    *httptest.Server
	faults []fakeupstream.Fault
}

// taken counts the faults of each kind the first n requests took: the fake
// hands out queued faults in arrival order, so those are exactly the ones
// that struck.
func (u *upstream) taken(n int) map[string]int {
	out := map[string]int{}
	for _, f := range u.faults[:n] {
		out[kind(f)]++
	}
	return out
}

// TestChaos sends a mixed load through the proxy while two of its three
// endpoints fail at random, and checks the promises of DESIGN.md.
func TestChaos(t *testing.T) {
	n := size(t)
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("chaos: %d requests, seed %d (replay with -chaos.seed %d)", n, seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	// Two endpoints fail a third of the time; "steady" never does, so
	// that every request has somewhere to go. Cool-downs are short for
	// the same reason as the event delay below.
	ups := []*upstream{
		{name: "flaky-a", faults: randomFaults(rng, n, 0.35)},
		{name: "flaky-b", faults: randomFaults(rng, n, 0.35)},
		{name: "steady", faults: randomFaults(rng, n, 0)},
	}
	for _, u := range ups {
		// Events a little apart, so that the load lasts long enough for
		// cooling endpoints to come back and take more faults.
		u.fake = fakeupstream.New(fakeupstream.Options{Events: 6, EventDelay: 2 * time.Millisecond, MaxRecorded: -1})
		u.fake.PushFaults(u.faults...)
		u.srv = httptest.NewServer(u.fake)
		defer u.srv.Close()
	}

	h, collector, records, stop := startProxy(t, ups)
	px := testutil.Serve(t, h)
	defer px.Close()

	outcomes := run(t, px.URL, n, 24)
	px.Close() // every handler has returned: every record is in
	stop()

	recs := records()
	got := summarize(outcomes)
	t.Logf("client: %+v", got)

	// 1. No client-visible failure from a fault before the first byte.
	if got.lost > 0 {
		t.Errorf("%d requests lost (a failure before the first byte reached the client); first: %s", got.lost, got.firstLost)
	}
	// 2. Every stream that broke ends in a well-formed error event.
	if got.badFraming > 0 {
		t.Errorf("%d streams ended without message_stop or a well-formed error event; first: %s", got.badFraming, got.firstBad)
	}

	// 3. qccd's accounting reconciles exactly with the upstreams'.
	reconcile(t, ups, recs, collector.Report(0), got, n)

	if t.Failed() {
		for _, r := range recs {
			if r.StreamError != "" || r.Status != http.StatusOK {
				t.Logf("record: endpoint %s status %d attempts %d stream %t error %q usage %+v failed %v",
					r.Endpoint, r.Status, r.Attempts, r.Stream, r.StreamError, r.Usage, r.Failed)
			}
		}
		return
	}
	// The summary goes to stdout so that `make chaos` and CI show it
	// without -v.
	fmt.Printf("chaos: %d requests, 0 lost, %d mid-stream errors all framed, %d non-streaming bodies cut and aborted, %d garbage 200s relayed as sent, stats reconcile\n",
		n, got.streamErrors, got.aborted, got.garbage)
}

// startProxy builds the proxy in front of ups, with a stats collector fed
// by its records; stop ends the collector after the last request.
func startProxy(t *testing.T, ups []*upstream) (http.Handler, *stats.Collector, func() []proxy.Record, func()) {
	t.Helper()
	var toml strings.Builder
	toml.WriteString(`
[clusters.chaos]
listen = "127.0.0.1:0"
strategy = "round-robin"
cooldown_min = "1ms"
cooldown_max = "20ms"
`)
	for _, u := range ups {
		fmt.Fprintf(&toml, "[[clusters.chaos.endpoints]]\nname = %q\nbase_url = %q\napi_key = \"sk-ant-chaos-%s\"\n", u.name, u.srv.URL, u.name)
	}
	snap := testutil.Snapshot(t, toml.String())
	collector := stats.New(stats.Options{Snapshot: func() *cluster.Snapshot { return snap }, Queue: 1 << 16})
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(done)
		_ = collector.Run(ctx)
	}()

	var mu sync.Mutex
	var recs []proxy.Record
	h := proxy.New(proxy.Options{
		Cluster:  "chaos",
		Snapshot: func() *cluster.Snapshot { return snap },
		Log:      zerolog.Nop(),
		OnRecord: func(r *proxy.Record) {
			collector.OnRecord(r)
			mu.Lock()
			recs = append(recs, *r)
			mu.Unlock()
		},
	})
	stop := func() {
		cancel()
		<-done // Run counts what is queued before it returns
	}
	t.Cleanup(stop)
	return h, collector, func() []proxy.Record {
		mu.Lock()
		defer mu.Unlock()
		return recs
	}, sync.OnceFunc(stop)
}

// outcome is what the client saw of one request.
type outcome struct {
	stream bool
	status int
	err    error  // a transport error, or the body's read error
	body   []byte // what was read of the body
}

// run sends n requests, half of them streaming, conc at a time.
func run(t *testing.T, url string, n, conc int) []outcome {
	t.Helper()
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: conc, DisableCompression: true},
		Timeout:   30 * time.Second,
	}
	defer client.CloseIdleConnections()
	out := make([]outcome, n)
	work := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := range work {
				out[i] = send(client, url, i%2 == 0)
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

func send(client *http.Client, url string, stream bool) outcome {
	body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":64,"stream":%t,"messages":[{"role":"user","content":"chaos"}]}`, stream)
	req, _ := http.NewRequest("POST", url+"/v1/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	o := outcome{stream: stream}
	resp, err := client.Do(req)
	if err != nil {
		o.err = err
		return o
	}
	defer resp.Body.Close()
	o.status = resp.StatusCode
	o.body, o.err = io.ReadAll(resp.Body)
	return o
}

// clientSummary counts the outcomes by what they mean.
type clientSummary struct {
	ok           int // a whole message or a whole stream
	lost         int // an error status or a failed request: what must not happen
	streamErrors int // streams that ended in a well-formed error event
	badFraming   int // streams that ended any other way: what must not happen
	aborted      int // non-streaming replies cut by the upstream, whose connection qccd aborted
	garbage      int // non-streaming 200s whose body is not a Message, relayed as the upstream sent it
	firstLost    string
	firstBad     string
}

func summarize(outs []outcome) clientSummary {
	var s clientSummary
	for _, o := range outs {
		switch {
		case !o.stream && o.err != nil:
			// A reply the upstream cut after its first byte: HTTP/1.1 can
			// only say so by aborting the connection, which the client
			// sees as an error (before or after the headers, as much as
			// qccd had buffered) instead of a short body it might trust.
			// reconcile checks each one against qccd's record of a body
			// that broke off, so a request lost any other way still fails.
			s.aborted++
		case o.status != http.StatusOK || o.err != nil:
			s.lost++
			if s.firstLost == "" {
				s.firstLost = fmt.Sprintf("status %d, err %v, body %.200q", o.status, o.err, o.body)
			}
		case !o.stream && !isMessage(o.body):
			s.garbage++
		case !o.stream:
			s.ok++
		default:
			switch end, err := streamEnd(o.body); {
			case err != nil || o.err != nil:
				s.badFraming++
				if s.firstBad == "" {
					s.firstBad = fmt.Sprintf("%v / %v: %.300q", err, o.err, o.body)
				}
			case end == "message_stop":
				s.ok++
			default:
				s.streamErrors++
			}
		}
	}
	return s
}

func isMessage(b []byte) bool {
	var m struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(b, &m) == nil && m.Type == "message"
}

// streamEnd parses an SSE body strictly and returns the type of its last
// event: "message_stop", or "error" for a well-formed error event. Any
// partial or malformed event, or a stream that ends any other way, is an
// error.
func streamEnd(body []byte) (string, error) {
	if len(body) == 0 || !bytes.HasSuffix(body, []byte("\n\n")) {
		return "", errors.New("the stream does not end at an event boundary")
	}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var name, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if name == "" || data == "" {
				return "", fmt.Errorf("an event without a name or data after %q", last)
			}
			if !json.Valid([]byte(data)) {
				return "", fmt.Errorf("event %s: data is not JSON", name)
			}
			if name == "error" {
				var ev struct {
					Type  string `json:"type"`
					Error struct {
						Type    string `json:"type"`
						Message string `json:"message"`
					} `json:"error"`
				}
				if json.Unmarshal([]byte(data), &ev) != nil || ev.Type != "error" || ev.Error.Type == "" || ev.Error.Message == "" {
					return "", fmt.Errorf("a malformed error event: %s", data)
				}
			}
			if last == "message_stop" || last == "error" {
				return "", fmt.Errorf("event %s after %s", name, last)
			}
			last, name, data = name, "", ""
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		default:
			return "", fmt.Errorf("a line that is not SSE: %q", line)
		}
	}
	if last != "message_stop" && last != "error" {
		return "", fmt.Errorf("the stream ends with %q, not message_stop or an error event", last)
	}
	return last, nil
}
