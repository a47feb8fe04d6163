package proxy_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/qcc-dev/qcc/internal/testfixture"
)

// TestPassThroughClaudeCodeRequest sends the captured Claude Code request
// through a relay with a path prefix and checks that the upstream gets it
// as sent: method, path (joined without "//"), query, body and every
// end-to-end header, with only the credential and hop-by-hop headers changed.
func TestPassThroughClaudeCodeRequest(t *testing.T) {
	r := newRig(t, ``, []string{`name = "relay"
base_url = "%s/api/"
api_key = "%s"`})
	fx := testfixture.ClaudeCode()
	req := r.request(fx.Method, fx.Path, string(fx.Body))
	req.Header = fx.Header.Clone()
	req.Header.Set("Authorization", "Bearer client-oauth-token")
	req.Header.Set("Connection", "keep-alive, X-Hop")
	req.Header.Set("X-Hop", "per-connection")
	req.Header.Set("Proxy-Authorization", "Basic cHJveHk6cHJveHk=")
	resp, _ := r.do(req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}

	got := r.ups[0].Requests()
	if len(got) != 1 {
		t.Fatalf("upstream saw %d requests, want 1", len(got))
	}
	up := got[0]
	if up.Method != "POST" || r.rawPaths[0] != "/api/v1/messages" || up.RawQuery != "beta=true" {
		t.Errorf("upstream got %s %s?%s, want POST /api/v1/messages?beta=true", up.Method, r.rawPaths[0], up.RawQuery)
	}
	if !bytes.Equal(up.Body, fx.Body) {
		t.Errorf("body changed: %d bytes sent, %d received", len(fx.Body), len(up.Body))
	}
	for k := range fx.Header {
		switch k {
		case "Connection", "Accept-Encoding":
			continue // hop-by-hop; Accept-Encoding is checked below
		}
		if got, want := up.Header.Get(k), fx.Header.Get(k); got != want {
			t.Errorf("header %s: upstream got %q, want %q", k, got, want)
		}
	}
	if got := up.Header.Get("Accept-Encoding"); got != fx.Header.Get("Accept-Encoding") {
		t.Errorf("Accept-Encoding %q, want the client's %q", got, fx.Header.Get("Accept-Encoding"))
	}
	if got := up.Header.Get("X-Api-Key"); got != upstreamKey(0) {
		t.Errorf("x-api-key is not the endpoint's key")
	}
	for _, h := range []string{"Authorization", "X-Hop", "Proxy-Authorization", "Connection"} {
		if v := up.Header.Get(h); v != "" {
			t.Errorf("%s reached the upstream: %q", h, v)
		}
	}
}

// TestAuthModes checks how each auth mode presents credentials upstream.
func TestAuthModes(t *testing.T) {
	for _, tc := range []struct {
		auth          string
		wantAPIKey    string
		wantAuthorize string
	}{
		{"x-api-key", upstreamKey(0), ""},
		{"bearer", "", "Bearer " + upstreamKey(0)},
		{"both", upstreamKey(0), "Bearer " + upstreamKey(0)},
		{"passthrough", "client-key", "Bearer client-oauth"},
	} {
		t.Run(tc.auth, func(t *testing.T) {
			ep := `name = "a"
base_url = "%s"
api_key = "%s"
auth = "` + tc.auth + `"`
			if tc.auth == "passthrough" {
				ep = `name = "a"
base_url = "%s"
auth = "passthrough"
# %s`
			}
			r := newRig(t, ``, []string{ep})
			req := r.request("POST", "/v1/messages", messageBody(false))
			req.Header.Set("X-Api-Key", "client-key")
			req.Header.Set("Authorization", "Bearer client-oauth")
			if resp, body := r.do(req); resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			up := r.ups[0].Requests()[0]
			if got := up.Header.Get("X-Api-Key"); got != tc.wantAPIKey {
				t.Errorf("x-api-key: got %d bytes, want %d", len(got), len(tc.wantAPIKey))
			}
			if got := up.Header.Get("Authorization"); got != tc.wantAuthorize {
				t.Errorf("authorization: got %d bytes, want %d", len(got), len(tc.wantAuthorize))
			}
		})
	}
}

// TestEveryMethodAndPathPassesThrough covers the API beyond messages.
func TestEveryMethodAndPathPassesThrough(t *testing.T) {
	r := newRig(t, ``, []string{`name = "a"
base_url = "%s"
api_key = "%s"`})
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/models"},
		{"GET", "/v1/models/claude-sonnet-4-5"},
		{"POST", "/v1/messages/count_tokens"},
		{"POST", "/v1/messages/batches"},
		{"GET", "/v1/messages/batches/msgbatch_01?limit=5"},
		{"DELETE", "/v1/files/file_01"},
		{"GET", "/v1/some/future/path%2Fescaped?x=1&y=%20"},
	} {
		body := ""
		if tc.method == "POST" {
			body = messageBody(false)
		}
		r.do(r.request(tc.method, tc.path, body))
		got := r.ups[0].Requests()
		last := got[len(got)-1]
		path, query, _ := strings.Cut(tc.path, "?")
		if last.Method != tc.method || last.RawQuery != query {
			t.Errorf("%s %s: upstream got %s ?%s", tc.method, tc.path, last.Method, last.RawQuery)
		}
		if want := strings.ReplaceAll(path, "%2F", "/"); last.Path != want {
			t.Errorf("%s %s: upstream path %q, want %q", tc.method, tc.path, last.Path, want)
		}
	}
}

func TestClientTokens(t *testing.T) {
	r := newRig(t, `client_tokens = ["team-token-1", "team-token-2"]`, []string{`name = "a"
base_url = "%s"
api_key = "%s"`})
	for _, tc := range []struct {
		name   string
		header string
		value  string
		want   int
	}{
		{"missing", "", "", 401},
		{"wrong", "X-Api-Key", "team-token-3", 401},
		{"prefix of a token", "X-Api-Key", "team-token", 401},
		{"x-api-key", "X-Api-Key", "team-token-2", 200},
		{"bearer", "Authorization", "Bearer team-token-1", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := r.request("POST", "/v1/messages", messageBody(false))
			req.Header.Del("X-Api-Key")
			if tc.header != "" {
				req.Header.Set(tc.header, tc.value)
			}
			resp, body := r.do(req)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if tc.want == 401 {
				if typ, _ := apiError(t, body); typ != "authentication_error" {
					t.Errorf("error type %q", typ)
				}
				return
			}
			reqs := r.ups[0].Requests()
			if got := reqs[len(reqs)-1].Header.Get("X-Api-Key"); got != upstreamKey(0) {
				t.Errorf("the upstream did not get the endpoint's key")
			}
		})
	}
	if n := r.ups[0].Stats().Requests; n != 2 {
		t.Errorf("upstream saw %d requests, want only the 2 authorised ones", n)
	}
}

func TestBodyOverLimitGets413(t *testing.T) {
	r := newRig(t, `max_body_bytes = 1024`, []string{`name = "a"
base_url = "%s"
api_key = "%s"`})
	big := `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"` + strings.Repeat("x", 2048) + `"}]}`
	for _, chunked := range []bool{false, true} {
		req := r.request("POST", "/v1/messages", big)
		if chunked {
			req.ContentLength = -1 // no Content-Length: the limit must hold while reading
		}
		resp, body := r.do(req)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked=%v: status %d, want 413", chunked, resp.StatusCode)
		}
		if typ, _ := apiError(t, body); typ != "request_too_large" {
			t.Errorf("error type %q", typ)
		}
	}
	if n := r.ups[0].Stats().Requests; n != 0 {
		t.Errorf("upstream saw %d requests", n)
	}
	// A body at the limit passes.
	ok := `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`
	if resp, _ := r.do(r.request("POST", "/v1/messages", ok)); resp.StatusCode != 200 {
		t.Errorf("small body: status %d", resp.StatusCode)
	}
}
