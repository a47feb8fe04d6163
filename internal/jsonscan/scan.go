// Package jsonscan reads single members out of JSON documents without
// decoding them. The proxy needs one or two small fields of bodies it
// otherwise only relays (a request's metadata.user_id, a reply's usage), and
// walking past everything else is an order of magnitude cheaper than
// encoding/json, which builds and validates the whole value.
//
// On well-formed JSON every function here agrees with encoding/json; the
// fuzz tests of its callers hold it to that. Malformed input is walked only
// as far as needed, so it may or may not be rejected, but never panics.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Member returns the raw value of the member name of the JSON object b, or
// nil. Names match exactly, as when decoding into a map. Like encoding/json
// it takes the last of duplicate members, so it walks the whole object: a
// truncated one yields nil.
func Member(b []byte, name string) []byte {
	return find(b, name, false)
}

// Field is Member with the matching encoding/json uses for struct fields:
// a name matches case-insensitively (bytes.EqualFold). It exists so that a
// scan agrees with a decode into a struct on every well-formed input.
func Field(b []byte, name string) []byte {
	return find(b, name, true)
}

func find(b []byte, name string, fold bool) []byte {
	var found []byte
	ok := Members(b, func(key, value []byte) {
		if NameIs(key, name, fold) {
			found = value
		}
	})
	if !ok {
		return nil
	}
	return found
}

// Members calls fn with the quoted name and the raw value of each member of
// the JSON object b, in order. It reports false, possibly after some calls,
// when b is not an object or is malformed where the walk passed.
func Members(b []byte, fn func(name, value []byte)) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		end := skipString(b, i)
		if end < 0 {
			return false
		}
		key := b[i:end]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		vend := skipValue(b, i)
		if vend < 0 {
			return false
		}
		fn(key, b[i:vend])
		i = skipSpace(b, vend)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case '}':
			return true
		case ',':
			i = skipSpace(b, i+1)
		default:
			return false
		}
	}
}

// NameIs reports whether the quoted member name is name, compared exactly
// or, with fold, as encoding/json matches struct fields. Only a name with
// escapes, which no real peer sends, costs a decode.
func NameIs(quoted []byte, name string, fold bool) bool {
	raw := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(quoted, '\\') >= 0 {
		var s string
		if json.Unmarshal(quoted, &s) != nil {
			return false
		}
		raw = []byte(s)
	}
	if fold {
		return bytes.EqualFold(raw, []byte(name))
	}
	return string(raw) == name
}

// String returns the value of the JSON string raw, and false when raw is
// not a string. The value aliases raw unless decoding would change it:
// escapes, and bytes that are not UTF-8, which encoding/json replaces with
// U+FFFD.
func String(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	if v := raw[1 : len(raw)-1]; bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
		return v, true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}

// IsNull reports whether raw is the literal null, JSON whitespace around it
// allowed.
func IsNull(raw []byte) bool { return string(bytes.Trim(raw, " \t\r\n")) == "null" }

// Int64 returns the value of raw as encoding/json decodes a number into an
// int64: a literal integer in range, and nothing else (1.0 and 1e3 fail).
func Int64(raw []byte) (int64, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
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
