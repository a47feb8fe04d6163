package affinity

import (
	"bytes"
	"encoding/json"
	"net/http"
	"unicode/utf8"
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
	meta := member(b, "metadata")
	if meta == nil {
		return nil
	}
	raw := member(meta, "user_id")
	if len(raw) <= 2 || raw[0] != '"' {
		return nil
	}
	// Taken as it is unless decoding would change it: escapes, and bytes
	// that are not UTF-8, which encoding/json replaces with U+FFFD.
	if v := raw[1 : len(raw)-1]; bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
		return v
	}
	var s string
	if json.Unmarshal(raw, &s) != nil || s == "" {
		return nil
	}
	return []byte(s)
}

// member returns the raw value of the member name of the JSON object b, or
// nil. Like encoding/json, it takes the last of duplicate members, so it
// walks the whole object: a truncated one yields nil.
func member(b []byte, name string) []byte {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	var found []byte
	for {
		if i >= len(b) || b[i] != '"' {
			return nil
		}
		end := skipString(b, i)
		if end < 0 {
			return nil
		}
		key := b[i:end]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil
		}
		i = skipSpace(b, i+1)
		vend := skipValue(b, i)
		if vend < 0 {
			return nil
		}
		if keyIs(key, name) {
			found = b[i:vend]
		}
		i = skipSpace(b, vend)
		if i >= len(b) {
			return nil
		}
		switch b[i] {
		case '}':
			return found
		case ',':
			i = skipSpace(b, i+1)
		default:
			return nil
		}
	}
}

// keyIs reports whether the quoted member name is name. Names are compared
// as encoding/json decodes them; only a name with escapes, which no real
// client sends, costs a decode.
func keyIs(quoted []byte, name string) bool {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return string(quoted[1:len(quoted)-1]) == name
	}
	var s string
	return json.Unmarshal(quoted, &s) == nil && s == name
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"',
// or -1. It jumps from quote to quote, which is what makes the scan cheap:
// most of a request's bytes are inside long strings.
func skipString(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		j += i
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for k := j - 1; k >= i && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		i = j + 1
	}
}

// skipValue returns the index just past the value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default: // number, true, false, null
		start := i
		for i < len(b) && !isDelim(b[i]) {
			i++
		}
		if i == start {
			return -1
		}
		return i
	}
}

func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\n', '\r', '\t':
		return true
	}
	return false
}
