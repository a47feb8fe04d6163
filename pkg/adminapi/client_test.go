package adminapi_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// served is a request as the test server saw it.
type served struct {
	method, uri, auth string
}

// server answers every request with body and code and records what it got.
func server(t *testing.T, code int, body string) (*httptest.Server, *[]served) {
	t.Helper()
	var got []served
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, served{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization")})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write([]byte(body))
	}))
	return srv, &got
}

// onSocket starts srv on a unix socket in a temp dir and returns its path.
func onSocket(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin.sock")
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

func TestClientRoutes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		call     func(c *adminapi.Client) error
		method   string
		uri      string
		response string
	}{
		{"status", func(c *adminapi.Client) error { _, err := c.Status(ctx); return err }, "GET", "/v1/status", `{"version":"v1"}`},
		{"clusters", func(c *adminapi.Client) error { _, err := c.Clusters(ctx); return err }, "GET", "/v1/clusters", `[]`},
		{"endpoints", func(c *adminapi.Client) error { _, err := c.Endpoints(ctx, ""); return err }, "GET", "/v1/endpoints", `[]`},
		{"endpoints of a cluster", func(c *adminapi.Client) error { _, err := c.Endpoints(ctx, "prod"); return err }, "GET", "/v1/endpoints?cluster=prod", `[]`},
		{"stats", func(c *adminapi.Client) error { _, err := c.Stats(ctx, "1h"); return err }, "GET", "/v1/stats?window=1h", `{}`},
		{"stats default", func(c *adminapi.Client) error { _, err := c.Stats(ctx, ""); return err }, "GET", "/v1/stats", `{}`},
		{"enable", func(c *adminapi.Client) error { _, err := c.Enable(ctx, "prod", "a"); return err }, "POST", "/v1/endpoints/prod/a/enable", `{"ok":true}`},
		{"disable", func(c *adminapi.Client) error { _, err := c.Disable(ctx, "prod", "a"); return err }, "POST", "/v1/endpoints/prod/a/disable", `{"ok":true}`},
		{"drain", func(c *adminapi.Client) error { _, err := c.Drain(ctx, "prod", "a"); return err }, "POST", "/v1/endpoints/prod/a/drain", `{"ok":true}`},
		{"probe", func(c *adminapi.Client) error { _, err := c.Probe(ctx, "prod", "a"); return err }, "POST", "/v1/endpoints/prod/a/probe", `{"ok":true}`},
		{"reload", func(c *adminapi.Client) error { _, err := c.Reload(ctx); return err }, "POST", "/v1/reload", `{"ok":true}`},
		{"healthz", func(c *adminapi.Client) error { _, err := c.Healthz(ctx); return err }, "GET", "/healthz", `{"status":"ok"}`},
		{"readyz", func(c *adminapi.Client) error { _, err := c.Readyz(ctx); return err }, "GET", "/readyz", `{"status":"ready"}`},
		{"metrics", func(c *adminapi.Client) error { _, err := c.Metrics(ctx); return err }, "GET", "/metrics", "# no metrics\n"},
	}
	for _, tt := range tests {
		for _, transport := range []string{"unix", "http"} {
			t.Run(tt.name+"/"+transport, func(t *testing.T) {
				srv, got := server(t, http.StatusOK, tt.response)
				addr := ""
				if transport == "unix" {
					addr = onSocket(t, srv)
				} else {
					srv.Start()
					t.Cleanup(srv.Close)
					addr = srv.URL + "/"
				}
				c, err := adminapi.NewClient(addr, adminapi.WithToken("s3cret"))
				if err != nil {
					t.Fatal(err)
				}
				if err := tt.call(c); err != nil {
					t.Fatal(err)
				}
				want := served{tt.method, tt.uri, "Bearer s3cret"}
				if len(*got) != 1 || (*got)[0] != want {
					t.Errorf("server saw %+v, want [%+v]", *got, want)
				}
			})
		}
	}
}

func TestClientDecodes(t *testing.T) {
	srv, _ := server(t, http.StatusOK, `{"version":"v1.2.3","uptime":"1m30s","problems":["x"],
		"clusters":[{"name":"prod","endpoints":[{"name":"a","ttfb_ewma":"250ms","inflight":2}]}]}`)
	c, err := adminapi.NewClient(onSocket(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ep := st.Clusters[0].Endpoints[0]
	if st.Version != "v1.2.3" || st.Uptime.String() != "1m30s" || ep.Name != "a" || ep.Inflight != 2 || ep.TTFB.String() != "250ms" {
		t.Errorf("decoded %+v", st)
	}
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("api error", func(t *testing.T) {
		srv, _ := server(t, http.StatusNotFound, `{"error":"no endpoint \"x\" in cluster \"prod\""}`)
		c, _ := adminapi.NewClient(onSocket(t, srv))
		_, err := c.Disable(ctx, "prod", "x")
		var aerr *adminapi.APIError
		if !errors.As(err, &aerr) || aerr.StatusCode != 404 || aerr.Message != `no endpoint "x" in cluster "prod"` {
			t.Fatalf("err = %#v", err)
		}
		if want := `POST /v1/endpoints/prod/x/disable: 404 Not Found: no endpoint "x" in cluster "prod"`; err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
	})
	t.Run("not the admin API", func(t *testing.T) {
		srv, _ := server(t, http.StatusBadGateway, "<html>bad gateway</html>")
		c, _ := adminapi.NewClient(onSocket(t, srv))
		_, err := c.Status(ctx)
		var aerr *adminapi.APIError
		if !errors.As(err, &aerr) || aerr.StatusCode != 502 || aerr.Message != "<html>bad gateway</html>" {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("garbage 200", func(t *testing.T) {
		srv, _ := server(t, http.StatusOK, "hello")
		c, _ := adminapi.NewClient(onSocket(t, srv))
		_, err := c.Status(ctx)
		var cerr *adminapi.ConnError
		if !errors.As(err, &cerr) || !strings.Contains(err.Error(), "not the admin API's JSON") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no daemon", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "admin.sock")
		c, _ := adminapi.NewClient(path)
		_, err := c.Status(ctx)
		var cerr *adminapi.ConnError
		if !errors.As(err, &cerr) || cerr.Addr != path {
			t.Fatalf("err = %#v", err)
		}
		if want := "admin API at " + path + ": dial unix " + path + ": connect: no such file or directory"; err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
	})
	t.Run("bad address", func(t *testing.T) {
		for _, addr := range []string{"", "http://", "http://[::1"} {
			if _, err := adminapi.NewClient(addr); err == nil {
				t.Errorf("NewClient(%q) succeeded", addr)
			}
		}
	})
}
