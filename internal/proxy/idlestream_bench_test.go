package proxy_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// BenchmarkIdleStreamMemory measures what one open, idle stream costs the
// proxy: heap and goroutine stacks held while 1,000 streams wait between
// events, less what the same streams cost without the proxy (the upstream
// and the clients run in this process too). It is the in-process view of
// qccbench's "KB per idle stream", which measures RSS.
//
//	go test -run XXX -bench IdleStreamMemory -benchtime 1x -count 5 ./internal/proxy
func BenchmarkIdleStreamMemory(b *testing.B) {
	const streams = 1000
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	}))
	defer up.Close()

	px := benchProxy(b, fmt.Sprintf(`
[[clusters.bench.endpoints]]
name = "a"
base_url = %q
api_key = "sk-ant-bench"
`, up.URL))

	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	req := fmt.Appendf(nil, "POST /v1/messages HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nAnthropic-Version: 2023-06-01\r\nContent-Length: %d\r\n\r\n%s", len(body), body)

	// open starts n streams at addr and returns once each has its first
	// event, with what the process holds then over what it held before.
	open := func(addr string) (heap, stack float64, conns []net.Conn) {
		before := inUse()
		for range streams {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Write(req); err != nil {
				b.Fatal(err)
			}
			br := bufio.NewReaderSize(c, 512)
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					b.Fatal(err)
				}
				if bytes.HasPrefix(line, []byte("data: ")) {
					break
				}
			}
			conns = append(conns, c)
		}
		after := inUse()
		return float64(after.heap-before.heap) / streams, float64(after.stack-before.stack) / streams, conns
	}
	closeAll := func(conns []net.Conn) {
		for _, c := range conns {
			c.Close()
		}
	}

	for b.Loop() {
		dh, ds, direct := open(up.Listener.Addr().String())
		closeAll(direct)
		ph, ps, proxied := open(px.Addr)
		closeAll(proxied)
		b.ReportMetric(ph-dh, "heap-B/stream")
		b.ReportMetric(ps-ds, "stack-B/stream")
	}
	close(release)
}

type memInUse struct{ heap, stack uint64 }

// inUse is the live heap and the goroutine stacks after a full collection.
func inUse() memInUse {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return memInUse{heap: ms.HeapInuse, stack: ms.StackInuse}
}
