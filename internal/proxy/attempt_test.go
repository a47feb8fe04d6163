package proxy_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

// twoTiers is a primary that the tests break and a healthy secondary.
var twoTiers = []string{
	`name = "primary"
base_url = "%s"
api_key = "%s"
priority = 1
header_timeout = "300ms"`,
	`name = "secondary"
base_url = "%s"
api_key = "%s"
priority = 2`,
}

// TestAttemptLoop walks the attempt-loop table: failures before the first
// byte go to the next endpoint; client errors come back unchanged and
// penalise no one; auth failures take the endpoint out of rotation.
func TestAttemptLoop(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fault      fakeupstream.Fault
		refused    bool // the primary's port is closed
		wantStatus int  // what the client gets
		failover   bool // the secondary served it
		wantState  endpoint.Status
	}{
		{name: "connect error", refused: true, wantStatus: 200, failover: true, wantState: endpoint.Unknown},
		{name: "timeout before headers", fault: fakeupstream.Fault{HeaderDelay: 2 * time.Second}, wantStatus: 200, failover: true, wantState: endpoint.Unknown},
		{name: "reset before headers", fault: fakeupstream.Fault{ResetBeforeHeaders: true}, wantStatus: 200, failover: true, wantState: endpoint.Unknown},
		{name: "429", fault: fakeupstream.Fault{Status: 429, RetryAfter: "30"}, wantStatus: 200, failover: true, wantState: endpoint.CoolingDown},
		{name: "500", fault: fakeupstream.Fault{Status: 500}, wantStatus: 200, failover: true, wantState: endpoint.Unknown},
		{name: "502", fault: fakeupstream.Fault{Status: 502}, wantStatus: 200, failover: true, wantState: endpoint.Unknown},
		{name: "503", fault: fakeupstream.Fault{Status: 503}, wantStatus: 200, failover: true, wantState: endpoint.Unknown},
		{name: "504", fault: fakeupstream.Fault{Status: 504}, wantStatus: 200, failover: true, wantState: endpoint.Unknown},
		{name: "529", fault: fakeupstream.Fault{Status: 529}, wantStatus: 200, failover: true, wantState: endpoint.CoolingDown},
		{name: "400", fault: fakeupstream.Fault{Status: 400}, wantStatus: 400, wantState: endpoint.Available},
		{name: "404", fault: fakeupstream.Fault{Status: 404}, wantStatus: 404, wantState: endpoint.Available},
		{name: "413", fault: fakeupstream.Fault{Status: 413}, wantStatus: 413, wantState: endpoint.Available},
		{name: "422", fault: fakeupstream.Fault{Status: 422}, wantStatus: 422, wantState: endpoint.Available},
		{name: "401", fault: fakeupstream.Fault{Status: 401}, wantStatus: 200, failover: true, wantState: endpoint.AuthFailed},
		{name: "403", fault: fakeupstream.Fault{Status: 403}, wantStatus: 200, failover: true, wantState: endpoint.AuthFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, stream := range []bool{false, true} {
				r := newRig(t, ``, twoTiers)
				if tc.refused {
					r.cluster.Endpoint("primary").Config.BaseURL.Host = closedPort(t)
				}
				r.ups[0].SetFault(tc.fault)
				resp, body := r.do(r.request("POST", "/v1/messages", messageBody(stream)))
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("stream=%v: status %d, want %d: %s", stream, resp.StatusCode, tc.wantStatus, body)
				}
				if served := r.ups[1].Stats().Requests; served != map[bool]int{true: 1, false: 0}[tc.failover] {
					t.Errorf("stream=%v: secondary saw %d requests", stream, served)
				}
				if tc.wantStatus >= 400 {
					// Returned unchanged: the upstream's own error body.
					apiError(t, body)
					if resp.Header.Get("X-Should-Retry") != "" {
						t.Errorf("a client error was rewritten by qccd: %s", body)
					}
				}
				if stream && tc.wantStatus == 200 {
					evs := parseSSE(t, body)
					if evs[len(evs)-1].name != "message_stop" {
						t.Errorf("stream ended with %q", evs[len(evs)-1].name)
					}
				}
				if got := r.state("primary"); got != tc.wantState {
					t.Errorf("stream=%v: primary is %v, want %v", stream, got, tc.wantState)
				}
			}
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestServerErrorsCoolDownAfterThreshold: one 5xx is not enough to take an
// endpoint out; failure_threshold in a row is.
func TestServerErrorsCoolDownAfterThreshold(t *testing.T) {
	r := newRig(t, `failure_threshold = 3`, twoTiers)
	r.ups[0].SetFault(fakeupstream.Fault{Status: 502})
	for i := 1; i <= 3; i++ {
		if resp, _ := r.do(r.request("POST", "/v1/messages", messageBody(false))); resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		want := endpoint.Unknown
		if i == 3 {
			want = endpoint.CoolingDown
		}
		if got := r.state("primary"); got != want {
			t.Fatalf("after %d failures: %v, want %v", i, got, want)
		}
	}
	// Cooling down: the next request goes straight to the secondary.
	r.do(r.request("POST", "/v1/messages", messageBody(false)))
	if n := r.ups[0].Stats().Requests; n != 3 {
		t.Errorf("primary saw %d requests while cooling down, want 3", n)
	}
}

// TestRetryAfterIsHonoured: a 429's Retry-After sets the cool-down.
func TestRetryAfterIsHonoured(t *testing.T) {
	r := newRig(t, ``, twoTiers)
	r.ups[0].SetFault(fakeupstream.Fault{Status: 429, RetryAfter: "120"})
	r.do(r.request("POST", "/v1/messages", messageBody(false)))
	until := r.cluster.Endpoint("primary").State.CooldownUntil()
	if d := time.Until(until); d < 110*time.Second || d > 121*time.Second {
		t.Errorf("cool-down ends in %v, want ~120s", d)
	}
}

// TestAllEndpointsDown: the client gets an Anthropic-shaped error that says
// how many endpoints were tried, with a status that fits the failures.
func TestAllEndpointsDown(t *testing.T) {
	for _, tc := range []struct {
		name     string
		faults   [2]fakeupstream.Fault
		want     int
		wantType string
	}{
		{"all overloaded", [2]fakeupstream.Fault{{Status: 529}, {Status: 529}}, 529, "overloaded_error"},
		{"all rate limited", [2]fakeupstream.Fault{{Status: 429}, {Status: 429}}, 429, "rate_limit_error"},
		{"rate limited and overloaded", [2]fakeupstream.Fault{{Status: 429}, {Status: 529}}, 529, "overloaded_error"},
		{"server errors", [2]fakeupstream.Fault{{Status: 500}, {Status: 529}}, 503, "api_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, ``, twoTiers)
			r.ups[0].SetFault(tc.faults[0])
			r.ups[1].SetFault(tc.faults[1])
			resp, body := r.do(r.request("POST", "/v1/messages", messageBody(true)))
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			typ, msg := apiError(t, body)
			if typ != tc.wantType {
				t.Errorf("type %q, want %q", typ, tc.wantType)
			}
			if !strings.Contains(msg, "tried 2 of 2 endpoints") {
				t.Errorf("message does not say how many were tried: %q", msg)
			}
			if resp.Header.Get("X-Should-Retry") != "true" {
				t.Errorf("x-should-retry: %q", resp.Header.Get("X-Should-Retry"))
			}
		})
	}

	t.Run("none available", func(t *testing.T) {
		r := newRig(t, ``, twoTiers)
		r.ups[0].SetFault(fakeupstream.Fault{Status: 529, RetryAfter: "40"})
		r.ups[1].SetFault(fakeupstream.Fault{Status: 529, RetryAfter: "20"})
		r.do(r.request("POST", "/v1/messages", messageBody(false)))
		resp, body := r.do(r.request("POST", "/v1/messages", messageBody(false)))
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if _, msg := apiError(t, body); !strings.Contains(msg, "no endpoint of cluster test is available (2 cooling-down)") {
			t.Errorf("message %q", msg)
		}
		if ra := resp.Header.Get("Retry-After"); ra != "20" && ra != "19" {
			t.Errorf("Retry-After %q, want the first endpoint's return in ~20s", ra)
		}
		if n := r.ups[0].Stats().Requests + r.ups[1].Stats().Requests; n != 2 {
			t.Errorf("upstreams saw %d requests, want 2 (none while cooling down)", n)
		}
	})
}

// TestMaxAttemptsBoundsRetries: with three broken endpoints and
// max_attempts = 2, only two are tried.
func TestMaxAttemptsBoundsRetries(t *testing.T) {
	r := newRig(t, `max_attempts = 2
strategy = "round-robin"`, []string{
		"name = \"a\"\nbase_url = \"%s\"\napi_key = \"%s\"",
		"name = \"b\"\nbase_url = \"%s\"\napi_key = \"%s\"",
		"name = \"c\"\nbase_url = \"%s\"\napi_key = \"%s\"",
	})
	for _, up := range r.ups {
		up.SetFault(fakeupstream.Fault{Status: 503})
	}
	resp, body := r.do(r.request("POST", "/v1/messages", messageBody(false)))
	if resp.StatusCode != 503 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, msg := apiError(t, body); !strings.Contains(msg, "tried 2 of 3 endpoints") {
		t.Errorf("message %q", msg)
	}
	total := 0
	for _, up := range r.ups {
		total += up.Stats().Requests
	}
	if total != 2 {
		t.Errorf("%d attempts, want 2", total)
	}
}
