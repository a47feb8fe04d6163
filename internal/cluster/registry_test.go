package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
)

// endpointTOML is one endpoint entry of cluster prod.
type endpointTOML struct {
	name, url, key string
	weight         int
	priority       int
	dial           string // dial_timeout, "" for the default
}

func parse(t *testing.T, affinity string, eps ...endpointTOML) *config.Config {
	t.Helper()
	text := fmt.Sprintf("[clusters.prod]\nlisten = \"127.0.0.1:7860\"\naffinity = %q\n", affinity)
	for _, e := range eps {
		text += fmt.Sprintf("\n[[clusters.prod.endpoints]]\nname = %q\nbase_url = %q\napi_key = %q\nweight = %d\npriority = %d\n",
			e.name, e.url, e.key, e.weight, e.priority)
		if e.dial != "" {
			text += fmt.Sprintf("dial_timeout = %q\n", e.dial)
		}
	}
	cfg, err := config.Parse("clusters.toml", []byte(text), config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func build(t *testing.T, r *Registry, cfg *config.Config) *Snapshot {
	t.Helper()
	s, err := r.Build(cfg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBuildCarriesStateByIdentity: an endpoint keeps its state and its
// connections across a rebuild that changes only its weight and priority;
// a new key, URL or name makes it another endpoint with a fresh state; new
// timeouts give it a new transport but keep its state.
func TestBuildCarriesStateByIdentity(t *testing.T) {
	base := endpointTOML{name: "a", url: "https://a.example", key: "sk-ant-key-a", weight: 100, priority: 1}
	tests := []struct {
		name          string
		change        func(e endpointTOML) endpointTOML
		sameState     bool
		sameTransport bool
	}{
		{"weight and priority", func(e endpointTOML) endpointTOML { e.weight, e.priority = 5, 2; return e }, true, true},
		{"dial timeout", func(e endpointTOML) endpointTOML { e.dial = "3s"; return e }, true, false},
		{"key", func(e endpointTOML) endpointTOML { e.key = "sk-ant-key-rotated"; return e }, false, false},
		{"base url", func(e endpointTOML) endpointTOML { e.url = "https://b.example"; return e }, false, false},
		{"name", func(e endpointTOML) endpointTOML { e.name = "renamed"; return e }, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRegistry(nil)
			before := build(t, r, parse(t, "none", base)).Clusters[0].Endpoints[0]
			before.State.Report(time.Now(), before.Policy, endpoint.Result{Outcome: endpoint.Overloaded, Reason: "529 overloaded"})
			if before.State.Status() != endpoint.CoolingDown {
				t.Fatalf("setup: status %v, want cooling down", before.State.Status())
			}

			changed := tc.change(base)
			after := build(t, r, parse(t, "none", changed)).Clusters[0].Endpoints[0]
			if got := after.State == before.State; got != tc.sameState {
				t.Errorf("same state = %v, want %v", got, tc.sameState)
			}
			if got := after.Transport == before.Transport; got != tc.sameTransport {
				t.Errorf("same transport = %v, want %v", got, tc.sameTransport)
			}
			if tc.sameState && after.State.Status() != endpoint.CoolingDown {
				t.Errorf("carried state was reset to %v", after.State.Status())
			}
			if after.Config.Weight != changed.weight || after.Config.Priority != changed.priority {
				t.Errorf("new endpoint has weight %d priority %d, want %d %d",
					after.Config.Weight, after.Config.Priority, changed.weight, changed.priority)
			}
		})
	}
}

// TestBuildForgetsRemovedEndpoints: an endpoint removed and added back is a
// new endpoint; the ones that stayed keep their state.
func TestBuildForgetsRemovedEndpoints(t *testing.T) {
	a := endpointTOML{name: "a", url: "https://a.example", key: "sk-ant-a", weight: 100, priority: 1}
	b := endpointTOML{name: "b", url: "https://b.example", key: "sk-ant-b", weight: 100, priority: 1}
	r := NewRegistry(nil)
	s1 := build(t, r, parse(t, "none", a, b))
	build(t, r, parse(t, "none", a))
	s3 := build(t, r, parse(t, "none", a, b))
	if s3.Clusters[0].Endpoint("a").State != s1.Clusters[0].Endpoint("a").State {
		t.Error("a lost its state")
	}
	if s3.Clusters[0].Endpoint("b").State == s1.Clusters[0].Endpoint("b").State {
		t.Error("b came back with the state it had before it was removed")
	}
}

// TestBuildKeepsAffinity: a session table survives a rebuild of its
// cluster, so conversations stay on their endpoint.
func TestBuildKeepsAffinity(t *testing.T) {
	a := endpointTOML{name: "a", url: "https://a.example", key: "sk-ant-a", weight: 100, priority: 1}
	r := NewRegistry(nil)
	s1 := build(t, r, parse(t, "session", a))
	id := s1.Clusters[0].Endpoints[0].ID
	key := s1.Clusters[0].Affinity.Hash([]byte("session-1"))
	s1.Clusters[0].Affinity.Set(time.Now(), key, id)

	a.weight = 7
	s2 := build(t, r, parse(t, "session", a))
	if got, ok := s2.Clusters[0].Affinity.Get(time.Now(), key); !ok || got != id {
		t.Errorf("affinity entry after rebuild = %q, %v; want %q", got, ok, id)
	}
}

// TestFailedBuildChangesNothing: a config the registry cannot build leaves
// the carried state, transports and affinity tables as the running
// snapshot has them.
func TestFailedBuildChangesNothing(t *testing.T) {
	a := endpointTOML{name: "a", url: "https://a.example", key: "sk-ant-a", weight: 100, priority: 1}
	r := NewRegistry(nil)
	s1 := build(t, r, parse(t, "session", a))

	// Validation rejects an unknown strategy, so make one by hand, with a
	// timeout change and a new endpoint that a half-applied build would
	// leave behind.
	a.dial = "1s"
	bad := parse(t, "none", a, endpointTOML{name: "n", url: "https://n.example", key: "sk-ant-n", weight: 1, priority: 1})
	bad.Clusters[0].Strategy = "no-such-strategy"
	if _, err := r.Build(bad, time.Now()); err == nil {
		t.Fatal("Build accepted an unknown strategy")
	}

	a.dial = ""
	s2 := build(t, r, parse(t, "session", a))
	before, after := s1.Clusters[0].Endpoints[0], s2.Clusters[0].Endpoints[0]
	if after.State != before.State || after.Transport != before.Transport {
		t.Error("the failed build replaced the endpoint's state or transport")
	}
	if s2.Clusters[0].Affinity != s1.Clusters[0].Affinity {
		t.Error("the failed build dropped the affinity table")
	}
}
