package endpoint

import (
	"net/url"
	"strings"
	"testing"

	"github.com/qcc-dev/qcc/internal/config"
)

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestTarget(t *testing.T) {
	tests := []struct {
		base, in, want string
	}{
		{"https://relay.example/api", "/v1/messages?beta=true", "https://relay.example/api/v1/messages?beta=true"},
		{"https://relay.example/api/", "/v1/messages?beta=true", "https://relay.example/api/v1/messages?beta=true"},
		{"https://relay.example/api//", "/v1/messages", "https://relay.example/api/v1/messages"},
		{"https://relay.example", "/v1/messages?beta=true", "https://relay.example/v1/messages?beta=true"},
		{"https://relay.example/", "/v1/messages", "https://relay.example/v1/messages"},
		{"http://127.0.0.1:8080/a/b", "/v1/models?limit=5&after_id=x%26y", "http://127.0.0.1:8080/a/b/v1/models?limit=5&after_id=x%26y"},
		{"https://relay.example/api", "/v1/messages", "https://relay.example/api/v1/messages"},
		{"https://relay.example/api", "/v1/messages#frag", "https://relay.example/api/v1/messages"},
		// The client's escapes survive: %2F is not a path separator.
		{"https://relay.example/api", "/v1/files/a%2Fb", "https://relay.example/api/v1/files/a%2Fb"},
		{"https://relay.example", "/v1/files/a%2Fb?x=1", "https://relay.example/v1/files/a%2Fb?x=1"},
		{"https://relay.example/my%20relay", "/v1/messages", "https://relay.example/my%20relay/v1/messages"},
		{"https://relay.example/a%2Fb/", "/v1/messages", "https://relay.example/a%2Fb/v1/messages"},
		{"https://relay.example/a%2Fb", "/v1/files/c%2Fd", "https://relay.example/a%2Fb/v1/files/c%2Fd"},
		{"https://relay.example/api", "/v1/files/a%20b", "https://relay.example/api/v1/files/a%20b"},
	}
	for _, tt := range tests {
		ep := New("c", 0, config.Endpoint{Name: "e", BaseURL: mustParse(t, tt.base)}, Policy{}, NewState(nil), nil)
		in := mustParse(t, tt.in)
		got := ep.Target(in)
		if got.String() != tt.want {
			t.Errorf("Target(%q) on %q = %q, want %q", tt.in, tt.base, got, tt.want)
		}
		if strings.Contains(got.EscapedPath(), "//") {
			t.Errorf("Target(%q) on %q has a double slash: %q", tt.in, tt.base, got.EscapedPath())
		}
		// The client's path, decoded, ends the upstream's.
		if !strings.HasSuffix(got.Path, in.Path) {
			t.Errorf("Target(%q) on %q: path %q does not end with %q", tt.in, tt.base, got.Path, in.Path)
		}
	}
}

func TestTargetLeavesInputsAlone(t *testing.T) {
	base := mustParse(t, "https://relay.example/api/")
	ep := New("c", 0, config.Endpoint{Name: "e", BaseURL: base}, Policy{}, NewState(nil), nil)
	in := mustParse(t, "/v1/messages?beta=true")
	a := ep.Target(in)
	a.Path, a.RawQuery = "/changed", "changed"
	if base.String() != "https://relay.example/api/" || in.String() != "/v1/messages?beta=true" {
		t.Errorf("Target changed its inputs: base %q, in %q", base, in)
	}
	if b := ep.Target(in); b.String() != "https://relay.example/api/v1/messages?beta=true" {
		t.Errorf("second Target = %q", b)
	}
}

func TestIdentity(t *testing.T) {
	const key = "sk-ant-api03-secret-value"
	base := config.Endpoint{Name: "main", BaseURL: mustParse(t, "https://api.anthropic.com"), APIKey: config.NewSecret("env:K", key)}
	id := Identity("prod", base)
	if strings.Contains(id, key) {
		t.Fatal("identity holds the API key")
	}
	tuned := base
	tuned.Weight, tuned.Priority = 7, 2
	if Identity("prod", tuned) != id {
		t.Error("weight and priority changed the identity; an endpoint would lose its state on a reload that only rebalances")
	}
	for name, other := range map[string]struct {
		cluster string
		cfg     config.Endpoint
	}{
		"cluster":  {"staging", base},
		"name":     {"prod", config.Endpoint{Name: "backup", BaseURL: base.BaseURL, APIKey: base.APIKey}},
		"base_url": {"prod", config.Endpoint{Name: "main", BaseURL: mustParse(t, "https://relay.example"), APIKey: base.APIKey}},
		"api_key":  {"prod", config.Endpoint{Name: "main", BaseURL: base.BaseURL, APIKey: config.NewSecret("env:K", key+"2")}},
	} {
		if Identity(other.cluster, other.cfg) == id {
			t.Errorf("a different %s kept the identity", name)
		}
	}
	ep := New("prod", 3, base, Policy{}, NewState(nil), nil)
	if ep.ID != id || ep.Index != 3 || ep.Name != "main" || ep.Cluster != "prod" {
		t.Errorf("New: %+v", ep)
	}
}
