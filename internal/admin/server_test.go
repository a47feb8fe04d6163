package admin_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/admin"
)

func TestSocket(t *testing.T) {
	r := newRig(t, rigOptions{})
	fi, err := os.Stat(r.socket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", fi.Mode())
	}
	if fi, err := os.Stat(filepath.Dir(r.socket)); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("socket directory: %v, %v; want it made with 0750", fi.Mode(), err)
	}

	// A second server must not take over a socket that is being served.
	other := admin.NewServer(http.NotFoundHandler(), admin.ServerOptions{Socket: r.socket, Log: zerolog.Nop()})
	if err := other.Listen(); err == nil || !strings.Contains(err.Error(), "is in use: is another qccd running?") {
		t.Errorf("second server on a live socket: %v", err)
	}
	if _, err := r.client.Healthz(context.Background()); err != nil {
		t.Errorf("the first server lost its socket: %v", err)
	}
}

func TestSocketReplacesStale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock")
	// A socket file nobody serves, as a killed qccd leaves behind.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}

	srv := admin.NewServer(http.NotFoundHandler(), admin.ServerOptions{Socket: path, Log: zerolog.Nop()})
	if err := srv.Listen(); err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("new socket does not answer: %v", err)
	}
	conn.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket left behind after a clean stop: %v", err)
	}
}

func TestSocketRefusesOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := admin.NewServer(http.NotFoundHandler(), admin.ServerOptions{Socket: path, Log: zerolog.Nop()})
	if err := srv.Listen(); err == nil || !strings.Contains(err.Error(), "exists and is not a socket; not replacing it") {
		t.Errorf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Error("the file was touched")
	}
}

// TestTCPGuard: the TCP listener wants the token on every data route, the
// socket never does, and browsers on other origins are kept out.
func TestTCPGuard(t *testing.T) {
	r := newRig(t, rigOptions{tcp: true, token: adminToken})
	base := "http://" + r.tcp
	bearer := http.Header{"Authorization": {"Bearer " + adminToken}}
	tests := []struct {
		name   string
		method string
		target string
		header http.Header
		code   int
	}{
		{"no token", "GET", base + "/v1/status", nil, 401},
		{"wrong token", "GET", base + "/v1/status", http.Header{"Authorization": {"Bearer nope"}}, 401},
		{"token as basic", "GET", base + "/v1/status", http.Header{"Authorization": {"Basic " + adminToken}}, 401},
		{"token prefix", "GET", base + "/v1/status", http.Header{"Authorization": {"Bearer " + adminToken[:5]}}, 401},
		{"token", "GET", base + "/v1/status", bearer, 200},
		{"lower-case scheme", "GET", base + "/v1/status", http.Header{"Authorization": {"bearer " + adminToken}}, 200},
		{"metrics need the token", "GET", base + "/metrics", nil, 401},
		{"post needs the token", "POST", base + "/v1/reload", nil, 401},
		{"post with token", "POST", base + "/v1/endpoints/prod/a/enable", bearer, 200},
		{"dashboard is public", "GET", base + "/", nil, 200},
		{"assets are public", "GET", base + "/assets/app.js", nil, 200},
		{"healthz is public", "GET", base + "/healthz", nil, 200},
		{"readyz is public", "GET", base + "/readyz", nil, 200},
		{"socket needs no token", "GET", "/v1/status", nil, 200},
		{"cross-origin post", "POST", base + "/v1/endpoints/prod/a/disable",
			http.Header{"Authorization": {"Bearer " + adminToken}, "Origin": {"http://evil.example"}}, 403},
		{"same-origin post", "POST", base + "/v1/endpoints/prod/a/enable",
			http.Header{"Authorization": {"Bearer " + adminToken}, "Origin": {base}}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := r.do(tt.method, tt.target, tt.header)
			if a.code != tt.code {
				t.Errorf("%d %s, want %d", a.code, a.body, tt.code)
			}
			if a.code == 401 && a.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// TestTCPWithoutToken: on loopback without a token the API is open to
// local clients, but not to a page that rebinds its own name to 127.0.0.1.
func TestTCPWithoutToken(t *testing.T) {
	r := newRig(t, rigOptions{tcp: true})
	base := "http://" + r.tcp
	if a := r.do("GET", base+"/v1/status", nil); a.code != 200 {
		t.Errorf("loopback without token: %d %s", a.code, a.body)
	}
	for _, host := range []string{"localhost:1234", "[::1]:80", "127.0.0.1"} {
		if a := r.doHost(base+"/v1/status", host); a.code != 200 {
			t.Errorf("Host %s: %d %s", host, a.code, a.body)
		}
	}
	a := r.doHost(base+"/v1/status", "rebound.example:8080")
	if a.code != 403 || !strings.Contains(a.body, "is not loopback") {
		t.Errorf("rebound host: %d %s", a.code, a.body)
	}
	if a := r.do("POST", base+"/v1/endpoints/prod/a/disable", http.Header{"Origin": {"null"}}); a.code != 403 {
		t.Errorf("cross-origin post without token: %d %s", a.code, a.body)
	}
}

// doHost sends a GET with a Host header, which net/http takes from
// Request.Host rather than from the header map.
func (r *rig) doHost(target, host string) answer {
	r.t.Helper()
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return answer{code: resp.StatusCode, header: resp.Header, body: string(b)}
}
