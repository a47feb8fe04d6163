package upstream

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkRoundTrip compares this Transport with a *http.Transport set up
// as qccd's endpoint transport is, on the request shape qccd sends: a
// buffered body with its length, and a trace waiting for WroteRequest.
func BenchmarkRoundTrip(b *testing.B) {
	reply := []byte(`{"id":"msg_01","type":"message","role":"assistant","content":[{"type":"text","text":"ok"}]}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(reply)
	}))
	b.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL + "/v1/messages")
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"` +
		strings.Repeat("x", 1000) + `"}]}`)

	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"upstream", New(Options{})},
		{"net-http", &http.Transport{
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ReadBufferSize:      4 << 10,
			WriteBufferSize:     4 << 10,
		}},
	} {
		b.Run(tc.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				send(b, tc.rt, target, body)
			}
		})
		// Many requests in flight at once, as qccd has them: here net/http's
		// hand-offs between goroutines compete with the work for the CPUs.
		b.Run(tc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					send(b, tc.rt, target, body)
				}
			})
		})
		tc.rt.(interface{ CloseIdleConnections() }).CloseIdleConnections()
	}
}

// send sends one request built the way qccd's proxy builds it.
func send(b *testing.B, rt http.RoundTripper, target *url.URL, body []byte) {
	wrote := make(chan struct{}, 1)
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote <- struct{}{} },
	})
	req := (&http.Request{
		Method:        "POST",
		URL:           target,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {secret}},
		Host:          target.Host,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
	}).WithContext(ctx)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	<-wrote
}

// BenchmarkOpenStreams measures what an open SSE stream waiting for its next
// event costs, in memory (heap and goroutine stacks) and goroutines. Client
// and server are in one process; the server's share is the same for both
// transports, so the difference between them is the transports'.
func BenchmarkOpenStreams(b *testing.B) {
	const streams = 256
	var handlers sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: ping\ndata: {}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	b.Cleanup(srv.Close)
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"upstream", New(Options{})},
		{"net-http", &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true,
			ReadBufferSize: 4 << 10, WriteBufferSize: 4 << 10}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var bytes, goroutines float64
			for b.Loop() {
				mem0, g0 := inUse()
				bodies := make([]io.ReadCloser, 0, streams)
				buf := make([]byte, 4<<10)
				for range streams {
					req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("{}"))
					resp, err := tc.rt.RoundTrip(req)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := resp.Body.Read(buf); err != nil {
						b.Fatal(err)
					}
					bodies = append(bodies, resp.Body)
				}
				mem1, g1 := inUse()
				bytes += float64(mem1-mem0) / streams
				goroutines += float64(g1-g0) / streams
				for _, body := range bodies {
					body.Close()
				}
				handlers.Wait()
			}
			b.ReportMetric(bytes/float64(b.N), "B/stream")
			b.ReportMetric(goroutines/float64(b.N), "goroutines/stream")
		})
	}
}

// inUse returns the bytes of heap and stack in use, and the goroutines.
func inUse() (uint64, int) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse, runtime.NumGoroutine()
}
