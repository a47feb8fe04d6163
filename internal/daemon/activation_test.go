package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/sdnotify"
)

func TestSameAddr(t *testing.T) {
	v4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7860}
	any4 := &net.TCPAddr{IP: net.IPv4zero, Port: 7860}
	any6 := &net.TCPAddr{IP: net.IPv6unspecified, Port: 7860}
	v6 := &net.TCPAddr{IP: net.IPv6loopback, Port: 7860}
	for _, tc := range []struct {
		listen string
		got    net.Addr
		want   bool
	}{
		{"127.0.0.1:7860", v4, true},
		{"127.0.0.1:7861", v4, false},
		{"127.0.0.2:7860", v4, false},
		{"127.0.0.1:0", v4, true}, // port 0 takes whatever systemd bound
		{"localhost:7860", v4, true},
		{"[::1]:7860", v6, true},
		{"[::1]:7860", v4, false},
		{":7860", any6, true}, // ListenStream=7860 binds [::] dual-stack
		{":7860", any4, true},
		{"0.0.0.0:7860", any6, true},
		{":7860", v4, false},
		{"127.0.0.1:7860", any4, false},
		{"127.0.0.1:7860", &net.UnixAddr{Name: "/run/x.sock", Net: "unix"}, false},
		{"no-port", v4, false},
	} {
		if got := sameAddr(tc.listen, tc.got); got != tc.want {
			t.Errorf("sameAddr(%q, %v) = %v, want %v", tc.listen, tc.got, got, tc.want)
		}
	}
}

func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestSocketsListen(t *testing.T) {
	passed := loopbackListener(t)
	other := loopbackListener(t)
	s := newSockets(zerolog.Nop(), map[string][]net.Listener{
		"prod":   {other, passed},
		"orphan": {loopbackListener(t)},
	})

	got, err := s.listen(config.Cluster{Name: "prod", Listen: passed.Addr().String()})
	if err != nil {
		t.Fatalf("listen on the passed socket's address: %v", err)
	}
	if got != passed {
		t.Errorf("got a listener on %v, want the passed one on %v", got.Addr(), passed.Addr())
	}

	own, err := s.listen(config.Cluster{Name: "dev", Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("a cluster without a passed socket binds its own: %v", err)
	}
	own.Close()

	_, err = s.listen(config.Cluster{Name: "prod", Listen: "127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), other.Addr().String()) || !strings.Contains(err.Error(), "FileDescriptorName=prod") {
		t.Errorf("a passed socket on another address: error = %v, want one naming %v and the fd name", err, other.Addr())
	}

	// The one left for prod can still be taken, by a reload that moves it there.
	if got, err := s.listen(config.Cluster{Name: "prod", Listen: other.Addr().String()}); err != nil || got != other {
		t.Errorf("taking the second passed socket: %v, %v", got, err)
	}
	if _, ok := s.byName["prod"]; ok {
		t.Error("prod's sockets are all taken but still listed")
	}
	if _, ok := s.byName["orphan"]; !ok {
		t.Error("an unused socket was dropped; a reload adding its cluster could not take it")
	}
}

// helperEnv marks the re-executed test binary that plays qccd under
// socket activation.
const helperEnv = "QCC_ACTIVATION_HELPER_CONFIG"

// TestActivationHelper is not a test: it is qccd, started by
// TestSocketActivation the way systemd starts it, with LISTEN_FDS set.
func TestActivationHelper(t *testing.T) {
	cfg := os.Getenv(helperEnv)
	if cfg == "" {
		t.Skip("helper process for TestSocketActivation")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	err := Run(ctx, Options{
		ConfigPath: cfg,
		Explicit:   true,
		Log:        zerolog.New(os.Stderr),
		Notifier:   sdnotify.New(),
		Ready: func(addrs map[string]string) {
			fmt.Printf("ready %s\n", addrs["prod"])
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSocketActivation runs qccd as systemd would with qccd.socket: the
// listening socket is fd 3, named by LISTEN_FDNAMES after the cluster, and
// LISTEN_PID is qccd's own PID. qccd must serve that very socket, not bind
// one of its own: the parent keeps its copy and never accepts on it, so a
// request only succeeds if qccd took the passed socket.
func TestSocketActivation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	up := httptest.NewServer(fakeupstream.New(fakeupstream.Options{}))
	t.Cleanup(up.Close)

	ln := loopbackListener(t)
	file, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "clusters.toml")
	text := fmt.Sprintf(`[daemon]
admin_socket = %q
state_dir = %q

[clusters.prod]
listen = %q

[[clusters.prod.endpoints]]
name = "main"
base_url = %q
auth = "passthrough"
`, filepath.Join(dir, "admin.sock"), filepath.Join(dir, "state"), ln.Addr().String(), up.URL)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	// LISTEN_PID must be the PID that execs the daemon, which only a shell
	// that then execs it knows.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" -test.run='^TestActivationHelper$' -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+cfg, "LISTEN_FDS=1", "LISTEN_FDNAMES=prod")
	cmd.ExtraFiles = []*os.File{file} // fd 3
	cmd.Stderr = &testWriter{t}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- addr
			}
		}
		close(ready)
	}()
	select {
	case addr, ok := <-ready:
		if !ok {
			t.Fatal("qccd exited before it was ready")
		}
		if addr != ln.Addr().String() {
			t.Errorf("qccd serves %s, want the passed socket's %s", addr, ln.Addr())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("qccd did not become ready")
	}

	body := `{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Post("http://"+ln.Addr().String()+"/v1/messages", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("request on the passed socket: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
}

// testWriter sends a child's stderr to the test log.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
