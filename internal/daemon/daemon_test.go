package daemon_test

import (
	"github.com/qcc-dev/qcc/internal/testutil"

	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/daemon"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/sdnotify"
)

// notifySocket listens where systemd would and collects what qccd tells it.
type notifySocket struct {
	conn *net.UnixConn
	msgs chan string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	n := &notifySocket{conn: conn, msgs: make(chan string, 100)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.msgs <- string(buf[:k])
		}
	}()
	return n
}

// expect waits for a message containing want.
func (n *notifySocket) expect(t *testing.T, want string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-n.msgs:
			if strings.Contains(m, want) {
				return m
			}
		case <-timeout:
			t.Fatalf("systemd never heard %q", want)
		}
	}
}

// instance is one qccd run in the test process.
type instance struct {
	t      *testing.T
	cfg    string
	cancel context.CancelFunc
	done   chan error
	addrs  map[string]string
	reload chan os.Signal
	logs   *testutil.LogBuffer
}

func writeConfig(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, cfgText string) *instance {
	t.Helper()
	in := &instance{t: t, cfg: filepath.Join(t.TempDir(), "clusters.toml"), done: make(chan error, 1),
		reload: make(chan os.Signal, 1), logs: &testutil.LogBuffer{}}
	writeConfig(t, in.cfg, cfgText)
	ready := make(chan map[string]string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	go func() {
		in.done <- daemon.Run(ctx, daemon.Options{
			ConfigPath: in.cfg,
			Explicit:   true,
			Log:        zerolog.New(in.logs),
			Notifier:   sdnotify.New(),
			Reload:     in.reload,
			StateDir:   testStateDir(t, cfgText),
			Ready:      func(a map[string]string) { ready <- a },
		})
	}()
	select {
	case in.addrs = <-ready:
	case err := <-in.done:
		t.Fatalf("qccd did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("qccd did not become ready")
	}
	t.Cleanup(func() { in.stop() })
	return in
}

func (in *instance) stop() error {
	in.cancel()
	select {
	case err := <-in.done:
		in.done <- err
		return err
	case <-time.After(30 * time.Second):
		in.t.Fatal("qccd did not stop")
		return nil
	}
}

func (in *instance) url(cluster string) string { return "http://" + in.addrs[cluster] }

func post(t *testing.T, url string, stream bool) (*http.Response, string) {
	t.Helper()
	body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":16,"stream":%t,"messages":[{"role":"user","content":"hi"}]}`, stream)
	resp, err := http.Post(url+"/v1/messages", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func upstream(t *testing.T, opts fakeupstream.Options) (*fakeupstream.Server, string) {
	up := fakeupstream.New(opts)
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	return up, srv.URL
}

func oneCluster(upURL string) string {
	// watch = false: these tests reload by SIGHUP alone, and count on it.
	// admin_socket = "": keep off the real /run/qccd/admin.sock.
	return fmt.Sprintf(`[daemon]
drain_timeout = "20s"
watch = false
admin_socket = ""

[clusters.prod]
listen = "127.0.0.1:0"

[[clusters.prod.endpoints]]
name = "main"
base_url = %q
auth = "passthrough"
`, upURL)
}

// TestReadyAfterListenersBound: systemd hears READY=1 with a one-line
// STATUS once the listener is bound, requests flow, and a stop says
// STOPPING=1 and returns cleanly.
func TestReadyAfterListenersBound(t *testing.T) {
	sd := newNotifySocket(t)
	up, upURL := upstream(t, fakeupstream.Options{})
	in := start(t, oneCluster(upURL))

	msg := sd.expect(t, "READY=1")
	if !strings.Contains(msg, "STATUS=1 cluster, 1/1 endpoints available") {
		t.Errorf("READY without the expected STATUS: %q", msg)
	}
	if resp, body := post(t, in.url("prod"), false); resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if up.Stats().Requests != 1 {
		t.Errorf("upstream saw %d requests", up.Stats().Requests)
	}
	if err := in.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	sd.expect(t, "STOPPING=1")
	if !strings.Contains(in.logs.String(), `"message":"request"`) {
		t.Errorf("no request log line:\n%s", in.logs.String())
	}
}

// TestBindFailureIsFatal: a listener that cannot bind at start makes qccd
// exit with an error that names the cluster and the address.
func TestBindFailureIsFatal(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, upURL := upstream(t, fakeupstream.Options{})
	cfg := filepath.Join(t.TempDir(), "clusters.toml")
	writeConfig(t, cfg, strings.Replace(oneCluster(upURL), "127.0.0.1:0", taken.Addr().String(), 1))
	err = daemon.Run(context.Background(), daemon.Options{ConfigPath: cfg, Explicit: true, Log: zerolog.Nop(), Notifier: sdnotify.New()})
	if err == nil || !strings.Contains(err.Error(), "cluster prod") || !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Fatalf("err = %v, want a bind error naming cluster prod and the address", err)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("err = %v, want EADDRINUSE underneath", err)
	}
}

// TestShutdownDrainsStreams: a stream in flight when qccd is told to stop
// runs to its message_stop; new connections are refused meanwhile.
func TestShutdownDrainsStreams(t *testing.T) {
	_, upURL := upstream(t, fakeupstream.Options{Events: 10, EventDelay: 100 * time.Millisecond})
	in := start(t, oneCluster(upURL))

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	started := make(chan struct{})
	go func() {
		body := `{"model":"m","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
		resp, err := http.Post(in.url("prod")+"/v1/messages", "application/json", strings.NewReader(body))
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		close(started)
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- in.stop() }()

	r := <-got
	if r.err != nil {
		t.Fatalf("stream broke during shutdown: %v", r.err)
	}
	if !strings.HasSuffix(r.body, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n") {
		t.Errorf("stream did not complete: ...%q", r.body[max(0, len(r.body)-120):])
	}
	if err := <-stopped; err != nil {
		t.Errorf("stop: %v", err)
	}
}

// TestReloadKeepsOldConfigOnError: SIGHUP applies a changed file; a broken
// file changes nothing, tells systemd why, and the old config keeps serving.
func TestReloadKeepsOldConfigOnError(t *testing.T) {
	sd := newNotifySocket(t)
	_, upURL := upstream(t, fakeupstream.Options{})
	in := start(t, oneCluster(upURL))
	sd.expect(t, "READY=1")

	writeConfig(t, in.cfg, oneCluster(upURL)+"\n[[clusters.prod.endpoints]]\nname = \"second\"\nbase_url = \""+upURL+"\"\nauth = \"passthrough\"\n")
	in.reload <- syscall.SIGHUP
	sd.expect(t, "RELOADING=1")
	if msg := sd.expect(t, "READY=1"); !strings.Contains(msg, "1/1") && !strings.Contains(msg, "2/2") {
		t.Errorf("after reload: %q", msg)
	}

	writeConfig(t, in.cfg, "[clusters.prod]\nlisten = 7\n")
	in.reload <- syscall.SIGHUP
	sd.expect(t, "RELOADING=1")
	if msg := sd.expect(t, "READY=1"); !strings.Contains(msg, "STATUS=reload failed: ") {
		t.Errorf("a failed reload told systemd %q", msg)
	}
	if resp, body := post(t, in.url("prod"), true); resp.StatusCode != 200 || !strings.Contains(body, "message_stop") {
		t.Errorf("old config stopped serving: %d %s", resp.StatusCode, body)
	}
	if logs := in.logs.String(); !strings.Contains(logs, "clusters.toml:2") || !strings.Contains(logs, "reload rejected") {
		t.Errorf("the rejected reload is not logged with file:line:\n%s", logs)
	}
}

// TestStopAnswersConnectionsAcceptedBeforeIt pins requests lost on stop:
// net/http's Shutdown hangs up, unanswered, on a connection whose first
// request arrives after shutdown began, though the connection was accepted
// before. The e2e restart-under-load test lost one to three that way.
func TestStopAnswersConnectionsAcceptedBeforeIt(t *testing.T) {
	_, upURL := upstream(t, fakeupstream.Options{})
	in := start(t, oneCluster(upURL))
	conn, err := net.Dial("tcp", in.addrs["prod"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(50 * time.Millisecond) // accepted, no request yet

	stopped := make(chan error, 1)
	go func() { stopped <- in.stop() }()
	time.Sleep(200 * time.Millisecond) // shutdown under way

	body := `{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	fmt.Fprintf(conn, "POST /v1/messages HTTP/1.1\r\nHost: qccd\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the connection was dropped unanswered: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Errorf("stop: %v", err)
	}
}
