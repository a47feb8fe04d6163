package affinity

import (
	"net/http"

	"github.com/qcc-dev/qcc/internal/jsonscan"
)

// SessionHeader is the header Claude Code sends its session id in.
const SessionHeader = "X-Claude-Code-Session-Id"

// Key returns the session key of a request: the Claude Code session header
// when present, otherwise the top-level metadata.user_id of the JSON body
// (which Claude Code fills with a JSON string holding the session id, and
// other clients with their own user id). It returns nil when there is none.
//
// The body is scanned, not decoded: a Claude Code request is ~50 KB of
// tools and system prompt with metadata near the end, and decoding all of
// it to read one field would cost more than the rest of the proxy.
func Key(h http.Header, body []byte) []byte {
	if v := h[SessionHeader]; len(v) > 0 && v[0] != "" {
		return []byte(v[0])
	}
	return userID(body)
}

// userID finds metadata.user_id among the top-level members of a JSON
// object, skipping every other value without decoding it. Anything that is
// not well-formed enough to walk yields nil, and so does an empty user_id,
// which would otherwise bind every such client to one endpoint.
func userID(b []byte) []byte {
	meta := jsonscan.Member(b, "metadata")
	if meta == nil {
		return nil
	}
	v, ok := jsonscan.String(jsonscan.Member(meta, "user_id"))
	if !ok || len(v) == 0 {
		return nil
	}
	return v
}
