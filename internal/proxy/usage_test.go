package proxy_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/qcc-dev/qcc/internal/sse"
)

// TestUsageOfCompressedJSON pins the token count of non-streaming replies
// that an upstream compressed because the client asked for it (Claude Code
// sends Accept-Encoding: gzip, deflate, br, zstd). The client must get the
// upstream's bytes untouched; qccd reads the usage from its own copy.
func TestUsageOfCompressedJSON(t *testing.T) {
	const message = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",` +
		`"content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn",` +
		`"usage":{"input_tokens":11,"output_tokens":7,"cache_read_input_tokens":5,"cache_creation_input_tokens":3}}`
	want := sse.Usage{Input: 11, Output: 7, CacheRead: 5, CacheCreation: 3}

	compress := func(newWriter func(io.Writer) io.WriteCloser) []byte {
		var b bytes.Buffer
		w := newWriter(&b)
		_, _ = io.WriteString(w, message)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	gz := compress(func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) })
	zl := compress(func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) })
	raw := compress(func(w io.Writer) io.WriteCloser { fw, _ := flate.NewWriter(w, flate.BestSpeed); return fw })

	tests := []struct {
		name     string
		encoding string
		body     []byte
		chunked  bool
		want     sse.Usage
	}{
		{"identity", "", []byte(message), false, want},
		{"gzip", "gzip", gz, false, want},
		{"gzip chunked", "gzip", gz, true, want},
		{"x-gzip", "x-gzip", gz, false, want},
		{"deflate zlib", "deflate", zl, false, want},
		{"deflate raw", "deflate", raw, false, want},
		// Brotli is not in the standard library: the reply passes, uncounted.
		{"br", "br", []byte("\x1b\x00\x00 not really brotli"), false, sse.Usage{}},
		{"corrupt gzip", "gzip", []byte("\x1f\x8b not gzip"), false, sse.Usage{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if tc.encoding != "" {
					w.Header().Set("Content-Encoding", tc.encoding)
				}
				if tc.chunked {
					w.(http.Flusher).Flush() // no Content-Length: the body goes out chunked
				}
				_, _ = w.Write(tc.body)
			}))
			defer up.Close()
			r := newRig(t, ``, []string{`name = "gz"
base_url = "` + up.URL + `"
api_key = "%[2]s"`})
			req := r.request("POST", "/v1/messages", messageBody(false))
			req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
			resp, body := r.do(req)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Encoding"); got != tc.encoding {
				t.Errorf("Content-Encoding %q, want the upstream's %q", got, tc.encoding)
			}
			if !bytes.Equal(body, tc.body) {
				t.Errorf("the client got %d bytes that differ from the upstream's %d", len(body), len(tc.body))
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.records) != 1 {
				t.Fatalf("%d records, want 1", len(r.records))
			}
			if got := r.records[0].Usage; got != tc.want {
				t.Errorf("usage %+v, want %+v", got, tc.want)
			}
		})
	}
}
