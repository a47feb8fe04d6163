package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"strings"

	"github.com/qcc-dev/qcc/internal/sse"
)

// maxDecoded bounds how much of a compressed JSON response is inflated to
// read its usage, so that a small body cannot make qccd allocate without
// limit. A Message bigger than this loses its token count, as an
// uncompressed one bigger than maxCapture does.
const maxDecoded = 4 * maxCapture

// readableEncoding reports whether qccd can read the usage of a JSON body
// sent with this Content-Encoding. The client's Accept-Encoding passes
// through unchanged, so an upstream may well compress; the standard library
// reads gzip and deflate, the two that every HTTP server offers.
func readableEncoding(enc string) bool {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "identity", "gzip", "x-gzip", "deflate":
		return true
	}
	return false
}

// jsonUsage returns the usage of a non-streaming response body, captured as
// it was sent with the given Content-Encoding. The client got the bytes
// as they came; only this copy is inflated, after the response is over.
func jsonUsage(body []byte, enc string) (sse.Usage, bool) {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "identity":
		return sse.JSONUsage(body)
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return sse.Usage{}, false
		}
		r = zr
	case "deflate":
		// RFC 9110 says deflate is zlib-wrapped; some servers send the raw
		// stream anyway, as browsers have always tolerated.
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			r = flate.NewReader(bytes.NewReader(body))
		} else {
			r = zr
		}
	default:
		return sse.Usage{}, false
	}
	decoded, err := io.ReadAll(io.LimitReader(r, maxDecoded+1))
	if err != nil || len(decoded) > maxDecoded {
		return sse.Usage{}, false
	}
	return sse.JSONUsage(decoded)
}
