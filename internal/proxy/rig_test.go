package proxy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/proxy"
	"github.com/qcc-dev/qcc/internal/testutil"
)

// rig is qccd's data path for one cluster in front of fake upstreams, all
// on loopback. Every key it configures is checked, at cleanup, against
// everything the proxy logged and every response the tests read: a key
// that leaks anywhere fails the test that leaked it.
type rig struct {
	t       *testing.T
	ups     []*fakeupstream.Server
	upURLs  []string
	snap    *cluster.Snapshot
	cluster *cluster.Cluster
	proxy   *testutil.Server
	keys    []string

	mu          sync.Mutex
	rawPaths    []string // paths as the upstreams received them, before relayPrefix is removed
	logs        bytes.Buffer
	seen        bytes.Buffer // response headers and bodies the tests read
	transitions []transition
	records     []proxy.Record
}

type transition struct {
	endpoint string
	endpoint.Transition
}

// upstreamKey is endpoint i's key: long and distinctive, so a leak of any
// part of it would be found.
func upstreamKey(i int) string { return fmt.Sprintf("sk-ant-api03-qcctest%02d-SECRETSECRETSECRET", i) }

// newRig starts n fake upstreams and a proxy in front of them. clusterTOML
// is the body of [clusters.test] (listen is added); endpoints is a format
// string per endpoint whose %[1]s is its base URL and %[2]s its key.
func newRig(t *testing.T, clusterTOML string, endpoints []string, opts ...fakeupstream.Options) *rig {
	t.Helper()
	r := &rig{t: t}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "[clusters.test]\nlisten = \"127.0.0.1:0\"\n%s\n", clusterTOML)
	for i, ep := range endpoints {
		o := fakeupstream.Options{}
		if i < len(opts) {
			o = opts[i]
		}
		up := fakeupstream.New(o)
		srv := httptest.NewServer(r.relay(up))
		t.Cleanup(srv.Close)
		r.ups = append(r.ups, up)
		r.upURLs = append(r.upURLs, srv.URL)
		r.keys = append(r.keys, upstreamKey(i))
		fmt.Fprintf(&cfg, "[[clusters.test.endpoints]]\n"+ep+"\n", srv.URL, upstreamKey(i))
	}
	c, err := config.Parse("test.toml", []byte(cfg.String()), config.Options{FileMode: 0o600, LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("config:\n%s\n%v", cfg.String(), err)
	}
	reg := cluster.NewRegistry(func(_, name string, tr endpoint.Transition) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.transitions = append(r.transitions, transition{name, tr})
	})
	r.snap, err = reg.Build(c, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.cluster = r.snap.Cluster("test")
	log := zerolog.New(syncWriter{&r.mu, &r.logs}).Level(zerolog.DebugLevel)
	h := proxy.New(proxy.Options{
		Cluster:  "test",
		Snapshot: func() *cluster.Snapshot { return r.snap },
		Log:      log,
		OnRecord: func(rec *proxy.Record) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.records = append(r.records, *rec)
		},
	})
	r.proxy = testutil.Serve(t, h)
	t.Cleanup(r.checkNoKeyLeaked)
	return r
}

// relayPrefix is the path prefix of a relay-style base_url; the rig's
// upstreams accept it, as a relay mounted under a path would.
const relayPrefix = "/api"

func (r *rig) relay(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.rawPaths = append(r.rawPaths, req.URL.EscapedPath())
		r.mu.Unlock()
		if p, ok := strings.CutPrefix(req.URL.Path, relayPrefix+"/"); ok {
			req.URL.Path = "/" + p
			req.URL.RawPath = ""
		}
		h.ServeHTTP(w, req)
	})
}

type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (r *rig) checkNoKeyLeaked() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.keys {
		// Any 12-byte window of the key is enough to count as a leak.
		for i := 0; i+12 <= len(k); i += 6 {
			part := k[i : i+12]
			if strings.Contains(r.logs.String(), part) {
				r.t.Errorf("key fragment %q appears in the proxy's log", part)
			}
			if strings.Contains(r.seen.String(), part) {
				r.t.Errorf("key fragment %q appears in a response to the client", part)
			}
		}
	}
}

// ep returns the named endpoint's state.
func (r *rig) state(name string) endpoint.Status {
	return r.cluster.Endpoint(name).State.Status()
}

// request builds a client request to the proxy.
func (r *rig) request(method, path string, body string) *http.Request {
	req, err := http.NewRequest(method, r.proxy.URL+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if body == "" {
		req.Body = nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("X-Api-Key", "client-key-that-qccd-replaces")
	return req
}

// do sends req and reads the whole response, remembering what the client
// saw for the leak check.
func (r *rig) do(req *http.Request) (*http.Response, []byte) {
	r.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	r.mu.Lock()
	_ = resp.Header.Write(&r.seen)
	r.seen.Write(body)
	r.mu.Unlock()
	if err != nil {
		r.t.Fatalf("%s %s: reading body: %v", req.Method, req.URL.Path, err)
	}
	return resp, body
}

func messageBody(stream bool) string {
	return fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":64,"stream":%t,"messages":[{"role":"user","content":"hello"}]}`, stream)
}

// apiError decodes an Anthropic error body, failing the test when the body
// is not one.
func apiError(t *testing.T, body []byte) (typ, msg string) {
	t.Helper()
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Type != "error" || e.Error.Type == "" {
		t.Fatalf("not an Anthropic error body: %q (%v)", body, err)
	}
	return e.Error.Type, e.Error.Message
}

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	name string
	data string
}

// parseSSE splits a stream into events strictly: every event must end
// with a blank line, carry an event name and JSON data whose type matches
// the name. A partial or malformed event fails the test.
func parseSSE(t *testing.T, stream []byte) []sseEvent {
	t.Helper()
	var events []sseEvent
	s := string(stream)
	if s != "" && !strings.HasSuffix(s, "\n\n") {
		t.Fatalf("stream does not end on an event boundary: ...%q", tail(s))
	}
	for _, block := range strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		if block == "" {
			continue
		}
		var ev sseEvent
		sc := bufio.NewScanner(strings.NewReader(block))
		for sc.Scan() {
			name, value, _ := strings.Cut(sc.Text(), ":")
			value = strings.TrimPrefix(value, " ")
			switch name {
			case "event":
				ev.name = value
			case "data":
				ev.data += value
			}
		}
		var payload struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(ev.data), &payload); err != nil {
			t.Fatalf("event %q has data that is not JSON: %q", ev.name, ev.data)
		}
		if payload.Type != ev.name {
			t.Fatalf("event %q carries data of type %q", ev.name, payload.Type)
		}
		events = append(events, ev)
	}
	return events
}

func tail(s string) string {
	if len(s) > 80 {
		return s[len(s)-80:]
	}
	return s
}
