package cli

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/qcc-dev/qcc/internal/admin/admintest"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// TestStatsReconcileWithUpstreamAcrossRestart is issue 4's acceptance, end
// to end: after N requests through qccd, streaming and not, `qcc stats
// --json` totals equal what the upstream itself counted, tokens included;
// and after qccd restarts on the same state_dir, they are still there.
func TestStatsReconcileWithUpstreamAcrossRestart(t *testing.T) {
	up, upURL := admintest.Upstream(t, fakeupstream.Options{CacheReadTokens: 700, CacheCreationTokens: 90})
	stateDir := t.TempDir()
	config := func() string {
		return fmt.Sprintf(`[daemon]
admin_socket = %q
state_dir = %q
watch = false

[clusters.prod]
listen = "127.0.0.1:0"

[[clusters.prod.endpoints]]
name = "main"
base_url = %q
auth = "passthrough"
`, admintest.SocketPath(t), stateDir, upURL)
	}

	totals := func(d *admintest.Daemon) adminapi.StatsSummary {
		t.Helper()
		code, stdout, stderr := run(t, "stats", "--json", "--window", "total", "--admin", d.Socket)
		if code != 0 {
			t.Fatalf("qcc stats: exit %d: %s", code, stderr)
		}
		var rep adminapi.StatsReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("qcc stats --json: %v\n%s", err, stdout)
		}
		return rep.Total
	}

	d := admintest.Start(t, config())
	const n = 40
	for i := range n {
		if code, body := d.Send(t, "prod", i%2 == 0); code != 200 {
			t.Fatalf("request %d: %d %s", i, code, body)
		}
	}
	want := up.Stats()
	check := func(when string, got adminapi.StatsSummary) {
		t.Helper()
		if got.Requests != int64(want.Requests) || got.Requests != n {
			t.Errorf("%s: qcc says %d requests, the upstream counted %d (sent %d)", when, got.Requests, want.Requests, n)
		}
		tk := adminapi.Tokens{Input: want.Tokens.Input, Output: want.Tokens.Output, CacheRead: want.Tokens.CacheRead, CacheCreation: want.Tokens.CacheCreation}
		if got.Tokens != tk {
			t.Errorf("%s: qcc says tokens %+v, the upstream counted %+v", when, got.Tokens, tk)
		}
	}
	// The collector takes events in off the request path; give it a moment.
	// After the restart there is none to give: the saved totals are loaded
	// before qccd reports ready.
	admintest.WaitFor(t, "stats to catch up", func() bool { return totals(d).Requests == n })
	check("before restart", totals(d))
	t.Logf("after %d requests: qcc stats total %+v; upstream %d requests, tokens %+v", n, totals(d), want.Requests, want.Tokens)

	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	d2 := admintest.Start(t, config())
	check("after restart", totals(d2))
}
