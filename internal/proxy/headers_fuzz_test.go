package proxy

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"testing"

	"github.com/qcc-dev/qcc/internal/config"
)

// fuzzEndpointKey is the endpoint's key in FuzzHeaderPolicy.
const fuzzEndpointKey = "sk-ant-endpoint-FUZZ"

var fuzzAuthModes = []config.AuthMode{config.AuthAPIKey, config.AuthBearer, config.AuthBoth, config.AuthPassthrough}

// parseHeader reads a header block as net/http's server and client would:
// through textproto, which canonicalises names and rejects malformed lines,
// so the policy sees what it sees in production.
func parseHeader(block []byte) (http.Header, bool) {
	if !bytes.HasSuffix(block, []byte("\r\n\r\n")) {
		block = append(bytes.TrimRight(block, "\r\n"), "\r\n\r\n"...)
	}
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(block))).ReadMIMEHeader()
	if err != nil {
		return nil, false
	}
	return http.Header(h), true
}

// FuzzHeaderPolicy checks the header policy on any header a client or an
// upstream can send: it never panics; it never forwards a hop-by-hop
// header, nor one the Connection header names; unless auth is passthrough,
// the only credentials that go upstream are the endpoint's own; and every
// other end-to-end header (anthropic-*, content-type, …) passes unchanged.
func FuzzHeaderPolicy(f *testing.F) {
	f.Add([]byte("Content-Type: application/json\r\nAnthropic-Version: 2023-06-01\r\nX-Api-Key: sk-ant-client\r\n"), uint8(0))
	f.Add([]byte("Authorization: Bearer sk-ant-client\r\nConnection: keep-alive, X-Custom\r\nX-Custom: 1\r\nKeep-Alive: timeout=5\r\n"), uint8(1))
	f.Add([]byte("Connection: x-api-key\r\nX-Api-Key: a\r\nx-api-key: b\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\nUpgrade: h2c\r\n"), uint8(2))
	f.Add([]byte("Proxy-Authorization: Basic x\r\nProxy-Connection: close\r\nAnthropic-Beta: a,b\r\nUser-Agent: claude-cli/2\r\n"), uint8(3))
	f.Add([]byte("Connection: , ,\r\nConnection: Anthropic-Version\r\nAnthropic-Version: 2023-06-01\r\n"), uint8(0))
	f.Fuzz(func(t *testing.T, block []byte, mode uint8) {
		in, ok := parseHeader(block)
		if !ok {
			return
		}
		auth := fuzzAuthModes[int(mode)%len(fuzzAuthModes)]
		before := in.Clone()
		out := outboundHeader(in, auth, fuzzEndpointKey)
		if !headersEqual(in, before) {
			t.Fatalf("outboundHeader changed the client's header")
		}
		checkNoHopByHop(t, "outbound", in, out)
		for k, v := range in {
			if isHopByHop(k) || listedInConnection(in["Connection"], k) {
				continue
			}
			if auth != config.AuthPassthrough && (k == "X-Api-Key" || k == "Authorization") {
				continue
			}
			if !slices.Equal(out[k], v) {
				t.Fatalf("end-to-end header %s changed from %q to %q", k, v, out[k])
			}
		}
		if auth != config.AuthPassthrough {
			want := map[string][]string{}
			switch auth {
			case config.AuthAPIKey:
				want["X-Api-Key"] = []string{fuzzEndpointKey}
			case config.AuthBearer:
				want["Authorization"] = []string{"Bearer " + fuzzEndpointKey}
			case config.AuthBoth:
				want["X-Api-Key"] = []string{fuzzEndpointKey}
				want["Authorization"] = []string{"Bearer " + fuzzEndpointKey}
			}
			for _, k := range []string{"X-Api-Key", "Authorization"} {
				if !slices.Equal(out[k], want[k]) {
					t.Fatalf("auth %s: %s upstream is %q, want %q", auth, k, out[k], want[k])
				}
			}
			for k, vs := range out {
				for _, v := range vs {
					if k != "X-Api-Key" && k != "Authorization" && strings.Contains(v, fuzzEndpointKey) && !bytes.Contains(block, []byte(fuzzEndpointKey)) {
						t.Fatalf("the endpoint key went out in %s", k)
					}
				}
			}
		}
		if _, ok := out["User-Agent"]; !ok {
			t.Fatalf("no User-Agent: net/http would announce itself")
		}

		// The same block as an upstream's response header.
		dst := http.Header{}
		copyResponseHeader(dst, in)
		checkNoHopByHop(t, "response", in, dst)
		for k, v := range in {
			if !isHopByHop(k) && !listedInConnection(in["Connection"], k) && !slices.Equal(dst[k], v) {
				t.Fatalf("response header %s changed from %q to %q", k, v, dst[k])
			}
		}
	})
}

// checkNoHopByHop fails when out holds a hop-by-hop header, or passes on
// one that in's Connection header names. qccd may set a header of that
// name itself (the endpoint's credentials, an empty User-Agent): what must
// not go through is the value in carried.
func checkNoHopByHop(t *testing.T, what string, in, out http.Header) {
	t.Helper()
	for k, v := range out {
		if isHopByHop(k) {
			t.Fatalf("%s: hop-by-hop header %s forwarded", what, k)
		}
		if listedInConnection(in["Connection"], k) && len(in[k]) > 0 && slices.Equal(v, in[k]) {
			t.Fatalf("%s: header %s, named by Connection, forwarded", what, k)
		}
	}
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
