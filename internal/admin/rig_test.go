package admin_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/admin"
	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// Secrets the rig's config holds; no answer may contain them.
const (
	keyA       = "sk-ant-api03-KEY-A-must-never-show"
	keyB       = "sk-ant-api03-KEY-B-must-never-show"
	adminToken = "admin-token-must-never-show"
)

const rigConfig = `
[clusters.prod]
listen = "127.0.0.1:7860"
strategy = "weighted"

[[clusters.prod.endpoints]]
name = "a"
base_url = "https://a.example.com"
api_key = "` + keyA + `"
weight = 70

[[clusters.prod.endpoints]]
name = "b"
base_url = "https://b.example.com/relay"
api_key = "` + keyB + `"
auth = "bearer"
priority = 2

[clusters.dev]
listen = "127.0.0.1:7861"

[[clusters.dev.endpoints]]
name = "solo"
base_url = "https://api.anthropic.com"
auth = "passthrough"
`

// daemon is the admin API's view of a daemon, backed by a real snapshot.
type daemon struct {
	snap      atomic.Pointer[cluster.Snapshot]
	ready     atomic.Bool
	started   time.Time
	mu        sync.Mutex
	reloadErr error // what the next Reload returns
	last      *adminapi.Reload
	triggers  []string
}

func (d *daemon) Snapshot() *cluster.Snapshot { return d.snap.Load() }
func (d *daemon) Ready() bool                 { return d.ready.Load() }
func (d *daemon) StartedAt() time.Time        { return d.started }

func (d *daemon) Reload(trigger string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.triggers = append(d.triggers, trigger)
	d.last = &adminapi.Reload{At: time.Now(), Trigger: trigger, OK: d.reloadErr == nil}
	if d.reloadErr != nil {
		d.last.Error = d.reloadErr.Error()
	}
	return d.reloadErr
}

func (d *daemon) LastReload() *adminapi.Reload {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

// stats answers every window with a report that names it.
type stats struct{}

func (stats) Report(window time.Duration) adminapi.StatsReport {
	return adminapi.StatsReport{
		Window: adminapi.Duration(window),
		Total:  adminapi.StatsSummary{Requests: 42, Tokens: adminapi.Tokens{Input: 1000, Output: 200}},
	}
}

// prober fails endpoints named in bad and answers the rest properly.
type prober struct{ bad map[string]bool }

func (p prober) Probe(ctx context.Context, ep *endpoint.Endpoint) (adminapi.Probe, error) {
	if ep.Cluster == "dev" {
		return adminapi.Probe{}, errors.New("cluster dev has no active health check (kind = none)")
	}
	if p.bad[ep.Name] {
		return adminapi.Probe{OK: false, Status: 200, Reason: "invalid response", Duration: adminapi.Duration(time.Second)}, nil
	}
	return adminapi.Probe{OK: true, Status: 200, Duration: adminapi.Duration(300 * time.Millisecond)}, nil
}

// rig is an admin server over a real unix socket, and optionally TCP, in
// front of a real snapshot.
type rig struct {
	t      *testing.T
	daemon *daemon
	socket string
	tcp    string
	unix   *http.Client
	client *adminapi.Client
}

type rigOptions struct {
	noStats, noProber bool
	tcp               bool
	token             string
	metrics           http.Handler
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	cfg, err := config.Parse("clusters.toml", []byte(rigConfig), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := cluster.NewRegistry(nil).Build(cfg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{started: time.Now().Add(-90 * time.Minute)}
	d.snap.Store(snap)
	d.ready.Store(true)

	opts := admin.Options{Daemon: d, Version: "v9.9.9-test", Log: zerolog.Nop(), Metrics: o.metrics}
	if !o.noStats {
		opts.Stats = stats{}
	}
	if !o.noProber {
		opts.Prober = prober{bad: map[string]bool{"b": true}}
	}
	so := admin.ServerOptions{Socket: filepath.Join(t.TempDir(), "run", "qccd", "admin.sock"), Log: zerolog.Nop()}
	if o.tcp {
		so.Listen = "127.0.0.1:0"
	}
	if o.token != "" {
		so.Token = config.NewSecret("literal", o.token)
	}
	srv := admin.NewServer(admin.NewHandler(opts), so)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("admin server: %v", err)
		}
	})
	client, err := adminapi.NewClient(so.Socket)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{
		t: t, daemon: d, socket: so.Socket, tcp: srv.TCPAddr(), client: client,
		unix: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dl net.Dialer
				return dl.DialContext(ctx, "unix", so.Socket)
			},
		}},
	}
}

// answer is one raw HTTP answer.
type answer struct {
	code   int
	header http.Header
	body   string
}

// do sends a request over the unix socket, or over TCP when base is an
// http:// URL, and checks that the answer leaks no secret.
func (r *rig) do(method, target string, header http.Header) answer {
	r.t.Helper()
	hc, base := r.unix, "http://qccd"
	if strings.HasPrefix(target, "http://") {
		hc, base = http.DefaultClient, ""
	}
	req, err := http.NewRequest(method, base+target, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	a := answer{code: resp.StatusCode, header: resp.Header, body: string(b)}
	noSecrets(r.t, method+" "+target, a.body)
	return a
}

// noSecrets fails the test if s holds any of the rig's secrets.
func noSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{keyA, keyB, adminToken, "sk-ant-"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s: answer contains a secret (%q):\n%s", what, secret, s)
		}
	}
}

// endpointResult is what the proxy reports for an upstream answer with
// status: 429 overloaded, 401 unauthorized.
func endpointResult(status int) endpoint.Result {
	r := endpoint.Result{Status: status, Reason: http.StatusText(status), Admission: endpoint.Admitted}
	switch status {
	case 429, 529:
		r.Outcome = endpoint.Overloaded
	case 401, 403:
		r.Outcome = endpoint.Unauthorized
	}
	return r
}
