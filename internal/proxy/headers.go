package proxy

import (
	"net/http"
	"strings"

	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
)

// hopByHop are the headers that describe one connection rather than the
// message (RFC 9110 §7.6.1); a proxy never forwards them.
var hopByHop = [...]string{
	"Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Proxy-Connection",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

func isHopByHop(key string) bool {
	for _, h := range hopByHop {
		if key == h {
			return true
		}
	}
	return false
}

// listedInConnection reports whether key is named by the Connection header,
// which makes it hop-by-hop too.
func listedInConnection(conn []string, key string) bool {
	for _, v := range conn {
		for f := range strings.SplitSeq(v, ",") {
			if http.CanonicalHeaderKey(strings.TrimSpace(f)) == key {
				return true
			}
		}
	}
	return false
}

// outboundHeader is the header qccd sends upstream: the client's end-to-end
// headers (anthropic-*, content-type, user-agent, …) unchanged, its
// credentials replaced by the endpoint's unless auth is passthrough.
//
// The value slices are shared with the client's request, not copied: neither
// side modifies them, and copying would cost an allocation per header.
func outboundHeader(in http.Header, auth config.AuthMode, key string) http.Header {
	out := make(http.Header, len(in)+2)
	conn := in["Connection"]
	for k, v := range in {
		if isHopByHop(k) || (len(conn) > 0 && listedInConnection(conn, k)) {
			continue
		}
		if auth != config.AuthPassthrough && (k == "X-Api-Key" || k == "Authorization") {
			continue
		}
		out[k] = v
	}
	endpoint.PutCredentials(out, auth, key)
	if _, ok := out["User-Agent"]; !ok {
		// Without this net/http would announce itself; the request is the client's.
		out["User-Agent"] = []string{""}
	}
	return out
}

// copyResponseHeader copies the upstream's end-to-end response headers to
// the client.
func copyResponseHeader(dst, src http.Header) {
	conn := src["Connection"]
	for k, v := range src {
		if isHopByHop(k) || (len(conn) > 0 && listedInConnection(conn, k)) {
			continue
		}
		dst[k] = v
	}
}

// clientToken returns the credential a client presented to qccd: x-api-key,
// or an Authorization bearer token, as the SDKs send them.
func clientToken(h http.Header) string {
	if v := h.Get("X-Api-Key"); v != "" {
		return v
	}
	if v, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(v)
	}
	return ""
}
