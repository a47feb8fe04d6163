package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// fixture is a recorded admin API: for each "METHOD /path?query", the
// status and body qccd answered with.
type fixture map[string]struct {
	code int
	body string
}

var sectionHeader = regexp.MustCompile(`^-- (\S+) (\S+) (\d{3}) --$`)

// loadFixture reads testdata/api/NAME.txt: lines of prose, then sections,
// each a "-- METHOD PATH STATUS --" line and the body that follows it.
func loadFixture(t *testing.T, name string) fixture {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "api", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx := fixture{}
	var key string
	var code int
	var body strings.Builder
	flush := func() {
		if key != "" {
			fx[key] = struct {
				code int
				body string
			}{code, body.String()}
		}
		body.Reset()
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := sectionHeader.FindStringSubmatch(sc.Text()); m != nil {
			flush()
			key = m[1] + " " + m[2]
			code, _ = strconv.Atoi(m[3])
			continue
		}
		if key != "" {
			body.WriteString(sc.Text() + "\n")
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return fx
}

// serve answers from the fixture on a unix socket and returns its path.
func (fx fixture) serve(t *testing.T) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		a, ok := fx[r.Method+" "+r.URL.RequestURI()]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(adminapi.Error{Error: "no such route: " + r.Method + " " + r.URL.Path})
			return
		}
		w.WriteHeader(a.code)
		w.Write([]byte(a.body))
	}))
	path := shortSocket(t)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return path
}

// shortSocket returns a socket path that fits the 108-byte limit, which
// t.TempDir's long names can exceed.
func shortSocket(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "qcc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "admin.sock")
}

// TestAdminGolden runs the admin commands against recorded answers and
// compares exit code, stdout and stderr with testdata/admin/NAME.golden.
// The socket's path shows as $ADMIN.
func TestAdminGolden(t *testing.T) {
	tests := []struct {
		name    string
		fixture string // "" for no daemon at all
		args    []string
		env     map[string]string
	}{
		{name: "status", fixture: "healthy", args: []string{"status"}},
		{name: "status-json", fixture: "healthy", args: []string{"status", "--json"}},
		{name: "status-problems", fixture: "troubled", args: []string{"status"}},
		{name: "status-env", fixture: "healthy", args: []string{"status"}, env: map[string]string{"QCC_ADMIN": "$ADMIN"}},
		{name: "status-no-daemon", args: []string{"status", "--admin", "$ADMIN"}},
		{name: "status-extra-arg", fixture: "healthy", args: []string{"status", "prod"}},
		{name: "endpoints", fixture: "healthy", args: []string{"endpoints"}},
		{name: "endpoints-cluster", fixture: "healthy", args: []string{"endpoints", "prod"}},
		{name: "endpoints-json", fixture: "healthy", args: []string{"endpoints", "prod", "--json"}},
		{name: "endpoints-unknown-cluster", fixture: "healthy", args: []string{"endpoints", "nope"}},
		{name: "endpoints-down", fixture: "troubled", args: []string{"endpoints"}},
		{name: "stats", fixture: "healthy", args: []string{"stats"}},
		{name: "stats-total", fixture: "healthy", args: []string{"stats", "--window", "total"}},
		{name: "stats-bad-window", fixture: "healthy", args: []string{"stats", "--window", "2m"}},
		{name: "stats-not-collected", fixture: "troubled", args: []string{"stats"}},
		{name: "health", fixture: "healthy", args: []string{"health"}},
		{name: "health-troubled", fixture: "troubled", args: []string{"health"}},
		{name: "health-json", fixture: "troubled", args: []string{"health", "--json"}},
		{name: "probe", fixture: "healthy", args: []string{"probe", "prod/relay-eu"}},
		{name: "probe-failed", fixture: "troubled", args: []string{"probe", "prod/relay-eu"}},
		{name: "probe-unsupported", fixture: "troubled", args: []string{"probe", "batch/spare"}},
		{name: "probe-not-an-endpoint", fixture: "healthy", args: []string{"probe", "prod"}},
		{name: "enable", fixture: "healthy", args: []string{"enable", "prod/relay-eu"}},
		{name: "enable-unknown", fixture: "healthy", args: []string{"enable", "prod/nope"}},
		{name: "disable", fixture: "healthy", args: []string{"disable", "prod/relay-eu"}},
		{name: "drain", fixture: "healthy", args: []string{"drain", "prod/relay-eu"}},
		{name: "drain-json", fixture: "healthy", args: []string{"drain", "--json", "prod/relay-eu"}},
		{name: "reload", fixture: "healthy", args: []string{"reload"}},
		{name: "reload-rejected", fixture: "troubled", args: []string{"reload"}},
		{name: "unauthorized", fixture: "unauthorized", args: []string{"status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admin := shortSocket(t)
			if tt.fixture != "" {
				admin = loadFixture(t, tt.fixture).serve(t)
			}
			t.Setenv("QCC_ADMIN", "")
			t.Setenv("QCC_ADMIN_TOKEN", "")
			for k, v := range tt.env {
				t.Setenv(k, strings.ReplaceAll(v, "$ADMIN", admin))
			}
			args := tt.args
			if _, ok := tt.env["QCC_ADMIN"]; !ok && !contains(args, "--admin") {
				args = append([]string{args[0], "--admin", admin}, args[1:]...)
			}
			for i := range args {
				args[i] = strings.ReplaceAll(args[i], "$ADMIN", admin)
			}
			code, stdout, stderr := run(t, args...)
			got := fmt.Sprintf("$ %s\nexit %d\n-- stdout --\n%s-- stderr --\n%s",
				strings.Join(append([]string{"qcc"}, args...), " "), code, stdout, stderr)
			got = strings.ReplaceAll(got, admin, "$ADMIN")
			golden(t, filepath.Join("testdata", "admin", tt.name+".golden"), got)
		})
	}
}

func contains(args []string, s string) bool {
	for _, a := range args {
		if a == s {
			return true
		}
	}
	return false
}

// ansi matches the colour codes qcc writes.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestColourKeepsColumnsAligned: with colours, a table is the same table
// once the codes are stripped, and the codes are there.
func TestColourKeepsColumnsAligned(t *testing.T) {
	fx := loadFixture(t, "troubled")
	var st adminapi.Status
	if err := json.Unmarshal([]byte(fx["GET /v1/status"].body), &st); err != nil {
		t.Fatal(err)
	}
	var plainOut, colourOut bytes.Buffer
	if err := writeStatus(&plainOut, &st, false); err != nil {
		t.Fatal(err)
	}
	if err := writeStatus(&colourOut, &st, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plainOut.String(), "\x1b") {
		t.Error("colour without asking")
	}
	for _, code := range []string{green, yellow, red, grey} {
		if !strings.Contains(colourOut.String(), code) {
			t.Errorf("no %q in coloured output:\n%s", code, colourOut.String())
		}
	}
	if stripped := ansi.ReplaceAllString(colourOut.String(), ""); stripped != plainOut.String() {
		t.Errorf("coloured table differs once stripped:\n%s\nwant:\n%s", stripped, plainOut.String())
	}
}

func TestSpan(t *testing.T) {
	tests := map[string]string{
		"0s": "0s", "400ms": "0s", "42s": "42s", "5m0s": "5m", "5m3s": "5m3s", "2h30m0s": "2h30m",
		"3h0m0s": "3h", "1h0m5s": "1h5s", "47h0m0s": "47h", "48h0m0s": "2d", "75h30m0s": "3d3h30m",
	}
	for in, want := range tests {
		d, err := time.ParseDuration(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := span(d); got != want {
			t.Errorf("span(%s) = %q, want %q", in, got, want)
		}
	}
}
