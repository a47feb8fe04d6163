package downstream

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// server is what the benchmarks compare: this package's Server and
// net/http's, configured as qccd's listener configures it.
type server interface {
	Serve(net.Listener) error
	Close() error
}

func servers(h http.Handler) []struct {
	name string
	new  func() server
} {
	return []struct {
		name string
		new  func() server
	}{
		{"downstream", func() server { return New(Options{Handler: h}) }},
		{"net-http", func() server {
			return &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
		}},
	}
}

// start serves on a loopback listener until the benchmark ends.
func start(b *testing.B, srv server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	b.Cleanup(func() { srv.Close(); <-done })
	return "http://" + ln.Addr().String()
}

// BenchmarkServe sends a 1 KB POST and gets a small JSON reply, one
// request at a time on one kept connection, through net/http's client.
func BenchmarkServe(b *testing.B) {
	reply := []byte(`{"id":"msg_01","type":"message","role":"assistant","content":[{"type":"text","text":"ok"}]}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(reply)
	})
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"` +
		strings.Repeat("x", 1000) + `"}]}`)
	for _, tc := range servers(h) {
		b.Run(tc.name, func(b *testing.B) {
			url := start(b, tc.new())
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				resp, err := c.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// BenchmarkIdleStreamMemory measures what an open SSE stream waiting for
// its next event costs the server: heap and goroutine stacks, after GC,
// with 1,000 streams held open by raw clients.
func BenchmarkIdleStreamMemory(b *testing.B) {
	const streams = 1000
	var handlers sync.WaitGroup
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer handlers.Done()
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: ping\ndata: {}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	req := "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
	for _, tc := range servers(h) {
		b.Run(tc.name, func(b *testing.B) {
			url := start(b, tc.new())
			addr := strings.TrimPrefix(url, "http://")
			var heap, stack float64
			for b.Loop() {
				release = make(chan struct{})
				conns := make([]net.Conn, 0, streams)
				// The clients' own costs are set up before the first
				// measurement: their sockets and read buffers.
				brs := make([]*bufio.Reader, streams)
				for i := range brs {
					brs[i] = bufio.NewReaderSize(nil, 512)
				}
				h0, s0 := memInUse()
				for i := range streams {
					nc, err := net.Dial("tcp", addr)
					if err != nil {
						b.Fatal(err)
					}
					handlers.Add(1)
					io.WriteString(nc, req)
					brs[i].Reset(nc)
					if _, err := http.ReadResponse(brs[i], nil); err != nil {
						b.Fatal(err)
					}
					conns = append(conns, nc)
				}
				h1, s1 := memInUse()
				heap += float64(h1-h0) / streams
				stack += float64(s1-s0) / streams
				close(release)
				handlers.Wait()
				for _, nc := range conns {
					nc.Close()
				}
			}
			b.ReportMetric(heap/float64(b.N), "heap-B/stream")
			b.ReportMetric(stack/float64(b.N), "stack-B/stream")
			b.ReportMetric((heap+stack)/float64(b.N), "B/stream")
		})
	}
}

func memInUse() (heap, stack int64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse), int64(ms.StackInuse)
}
