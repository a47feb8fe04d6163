package stats_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/config"
)

// snapshot builds a runtime snapshot from cluster tables, each a name and
// its endpoints' base URLs by name, as "prod: a=http://x b=http://y".
func snapshot(t testing.TB, reg *cluster.Registry, clusters ...string) *cluster.Snapshot {
	t.Helper()
	var b strings.Builder
	for i, spec := range clusters {
		name, eps, _ := strings.Cut(spec, ":")
		fmt.Fprintf(&b, "[clusters.%s]\nlisten = \"127.0.0.1:%d\"\n", name, 17000+i)
		for _, ep := range strings.Fields(eps) {
			n, url, _ := strings.Cut(ep, "=")
			fmt.Fprintf(&b, "[[clusters.%s.endpoints]]\nname = %q\nbase_url = %q\napi_key = \"sk-ant-test-%s\"\n", name, n, url, n)
		}
	}
	cfg, err := config.Parse("test.toml", []byte(b.String()), config.Options{FileMode: 0o600, LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("config:\n%s\n%v", b.String(), err)
	}
	if reg == nil {
		reg = cluster.NewRegistry(nil)
	}
	snap, err := reg.Build(cfg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// clock is a settable time source for the rolling windows.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	// A slot boundary, so that the tests can reason about slots.
	return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
