// Package admintest runs a real qccd in the test process, for tests of the
// admin API's clients: the daemon's own, qcc's and the dashboard's.
package admintest

import (
	"github.com/qcc-dev/qcc/internal/testutil"

	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/daemon"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/sdnotify"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// Daemon is one qccd running in the test process until the test ends.
type Daemon struct {
	// ConfigPath is the clusters.toml it loaded; rewrite it and call Reload.
	ConfigPath string
	// Socket is the admin socket; TCP the admin TCP address, "" without
	// admin_listen.
	Socket, TCP string
	// Addrs is each cluster's bound address.
	Addrs map[string]string

	logs   *testutil.LogBuffer
	cancel context.CancelFunc
	done   chan error
}

// Start runs qccd with the config text. The text's admin_socket and any
// admin_listen are used as they are: give the socket a path in
// t.TempDir() (see SocketPath) and the listener port 0.
func Start(t testing.TB, config string) *Daemon {
	t.Helper()
	d := &Daemon{
		ConfigPath: filepath.Join(t.TempDir(), "clusters.toml"),
		logs:       &testutil.LogBuffer{},
		done:       make(chan error, 1),
	}
	if err := os.WriteFile(d.ConfigPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ready := make(chan map[string]string, 1)
	admin := make(chan [2]string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() {
		d.done <- daemon.Run(ctx, daemon.Options{
			ConfigPath:     d.ConfigPath,
			Explicit:       true,
			Log:            zerolog.New(d.logs),
			Notifier:       sdnotify.New(),
			Ready:          func(a map[string]string) { ready <- a },
			AdminListening: func(socket, tcp string) { admin <- [2]string{socket, tcp} },
		})
	}()
	select {
	case a := <-admin:
		d.Socket, d.TCP = a[0], a[1]
	case err := <-d.done:
		t.Fatalf("qccd did not start: %v\n%s", err, d.logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("qccd's admin API did not come up\n%s", d.logs)
	}
	select {
	case d.Addrs = <-ready:
	case err := <-d.done:
		t.Fatalf("qccd did not start: %v\n%s", err, d.logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("qccd did not become ready\n%s", d.logs)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("qccd stopped with %v", err)
		}
		if strings.Contains(d.Logs(), "sk-ant-") {
			t.Errorf("a key reached qccd's log:\n%s", d.Logs())
		}
	})
	return d
}

// Stop stops qccd and returns what Run returned; calling it again returns
// the same.
func (d *Daemon) Stop() error {
	d.cancel()
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("qccd did not stop within 30s")
	}
}

// Logs returns what qccd logged so far.
func (d *Daemon) Logs() string { return d.logs.String() }

// Client returns an admin API client on the socket.
func (d *Daemon) Client(t testing.TB) *adminapi.Client {
	t.Helper()
	c, err := adminapi.NewClient(d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Send sends one Messages request through cluster's listener and returns
// the status and body.
func (d *Daemon) Send(t testing.TB, cluster string, stream bool) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":16,"stream":%t,"messages":[{"role":"user","content":"hi"}]}`, stream)
	resp, err := http.Post("http://"+d.Addrs[cluster]+"/v1/messages", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// SocketPath returns an admin socket path in a fresh temp dir, short enough
// for the 108-byte limit on socket paths.
func SocketPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "qccd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "admin.sock")
}

// Upstream starts a fake Anthropic API on loopback.
func Upstream(t testing.TB, opts fakeupstream.Options) (*fakeupstream.Server, string) {
	t.Helper()
	up := fakeupstream.New(opts)
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	return up, srv.URL
}

// WaitFor polls cond every 10 ms until it holds, failing the test after a
// generous deadline.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
