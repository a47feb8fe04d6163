package testutil

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// BenchPOST sends body to url with header once per iteration of b, reads
// every reply whole and fails on any status but 200: the loop of the
// request-path benchmarks.
func BenchPOST(b *testing.B, client *http.Client, url string, header http.Header, body []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header = header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
