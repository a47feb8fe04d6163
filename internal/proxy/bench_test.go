package proxy_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
	"github.com/qcc-dev/qcc/internal/proxy"
	"github.com/qcc-dev/qcc/internal/testfixture"
	"github.com/qcc-dev/qcc/internal/testutil"
)

// BenchmarkRequestPath measures one non-streaming request at concurrency 1,
// straight to a loopback upstream and through the proxy, so that the
// difference between the two is what qccd adds. Allocations are the
// whole process's (client, proxy and upstream); compare the two lines.
//
//	go test -run XXX -bench RequestPath -benchmem -count 10 ./internal/proxy | benchstat -
func BenchmarkRequestPath(b *testing.B) {
	up := httptest.NewServer(fakeupstream.New(fakeupstream.Options{Events: 4, MaxRecorded: -1}))
	defer up.Close()

	px := benchProxy(b, fmt.Sprintf(`
affinity = "session"
[[clusters.bench.endpoints]]
name = "a"
base_url = %q
api_key = "sk-ant-bench"
[[clusters.bench.endpoints]]
name = "b"
base_url = %q
api_key = "sk-ant-bench-2"
`, up.URL, up.URL))

	small := []byte(`{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"` + strings.Repeat("x", 900) + `"}]}`)
	fx := testfixture.ClaudeCode()
	fx.Header.Del("Accept-Encoding")
	// The fixture streams; the benchmark measures the request path, so ask for JSON.
	fixture := bytes.Replace(fx.Body, []byte(`"stream":true`), []byte(`"stream":false`), 1)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}}
	run := func(b *testing.B, base, path string, header http.Header, body []byte) {
		testutil.BenchPOST(b, client, base+path, header, body)
	}
	hdr := http.Header{"Content-Type": {"application/json"}, "Anthropic-Version": {"2023-06-01"}, "X-Api-Key": {"client"}}
	b.Run("1KB/direct", func(b *testing.B) { run(b, up.URL, "/v1/messages", hdr, small) })
	b.Run("1KB/qccd", func(b *testing.B) { run(b, px.URL, "/v1/messages", hdr, small) })
	b.Run("claude-code-49KB/direct", func(b *testing.B) { run(b, up.URL, fx.Path, fx.Header, fixture) })
	b.Run("claude-code-49KB/qccd", func(b *testing.B) { run(b, px.URL, fx.Path, fx.Header, fixture) })
}

// benchProxy serves cluster "bench" through the proxy, on loopback, with
// the listeners' server and no logging; clusterTOML is the body of [clusters.bench], listen aside.
func benchProxy(b *testing.B, clusterTOML string) *testutil.Server {
	b.Helper()
	snap := testutil.Snapshot(b, "[clusters.bench]\nlisten = \"127.0.0.1:0\"\n"+clusterTOML)
	return testutil.Serve(b, proxy.New(proxy.Options{Cluster: "bench", Snapshot: func() *cluster.Snapshot { return snap }, Log: zerolog.Nop()}))
}
