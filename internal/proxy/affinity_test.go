package proxy_test

import (
	"fmt"
	"testing"

	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/testfixture"
)

var threeRoundRobin = []string{
	"name = \"a\"\nbase_url = \"%s\"\napi_key = \"%s\"",
	"name = \"b\"\nbase_url = \"%s\"\napi_key = \"%s\"",
	"name = \"c\"\nbase_url = \"%s\"\napi_key = \"%s\"",
}

// lastEndpoint returns the endpoint that served the latest request.
func (r *rig) lastEndpoint() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.records[len(r.records)-1].Endpoint
}

// TestSessionAffinity: a conversation stays on one endpoint even under
// round-robin, keyed by Claude Code's session header or, without it, by
// metadata.user_id; it moves when its endpoint fails, and stays moved.
func TestSessionAffinity(t *testing.T) {
	r := newRig(t, `strategy = "round-robin"
affinity = "session"`, threeRoundRobin)

	send := func(session string) string {
		req := r.request("POST", "/v1/messages", messageBody(false))
		req.Header.Set("X-Claude-Code-Session-Id", session)
		if resp, body := r.do(req); resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		return r.lastEndpoint()
	}

	homes := map[string]string{}
	used := map[string]bool{}
	for i := range 6 {
		s := fmt.Sprintf("session-%d", i)
		homes[s] = send(s)
		used[homes[s]] = true
	}
	if len(used) < 2 {
		t.Errorf("6 sessions all landed on %v: affinity should not defeat balancing", used)
	}
	for range 5 {
		for s, home := range homes {
			if got := send(s); got != home {
				t.Fatalf("%s moved from %s to %s", s, home, got)
			}
		}
	}

	// The session's endpoint fails: the session moves, then sticks.
	moved := "session-0"
	home := homes[moved]
	r.ups[map[string]int{"a": 0, "b": 1, "c": 2}[home]].SetFault(fakeupstream.Fault{Status: 529, RetryAfter: "60"})
	next := send(moved)
	if next == home {
		t.Fatalf("session stayed on failed endpoint %s", home)
	}
	for range 3 {
		if got := send(moved); got != next {
			t.Errorf("after failover the session went to %s, want it to stay on %s", got, next)
		}
	}
}

// TestSessionAffinityFromBody: Claude Code's request without its session
// header is bound by metadata.user_id, found in the 49 KB body.
func TestSessionAffinityFromBody(t *testing.T) {
	r := newRig(t, `strategy = "round-robin"
affinity = "session"`, threeRoundRobin)
	fx := testfixture.ClaudeCode()
	fx.Header.Del("X-Claude-Code-Session-Id")
	var first string
	for i := range 6 {
		req := r.request(fx.Method, fx.Path, string(fx.Body))
		req.Header = fx.Header.Clone()
		if resp, body := r.do(req); resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if i == 0 {
			first = r.lastEndpoint()
		} else if got := r.lastEndpoint(); got != first {
			t.Fatalf("request %d went to %s, not %s", i, got, first)
		}
	}
}
