package sse

// Boundary returns the length of the longest prefix of buf made of complete
// events, or 0 when buf holds no complete event.
//
// An event ends at a blank line. Lines may end in "\n", "\r\n" or "\r", as the
// SSE specification allows, so "\n\n", "\r\n\r\n" and "\r\r" all end an
// event, as do mixtures such as "\n\r\n".
//
// buf must start where an event starts: at the beginning of the stream or
// just after the prefix Boundary returned for the previous buffer. A blank
// line there is a complete, empty event. That matters for "\r\n" torn across
// two chunks: Boundary accepts the "\r" at the end of the first, since it may
// be the whole line end, and the "\n" that starts the second is then an empty
// line of its own, which dispatches nothing but must still be passed on.
//
// Boundary scans backwards from the end of buf and stops at the first blank
// line it meets, so its cost is the length of the trailing partial event,
// not of buf. It does not allocate.
func Boundary(buf []byte) int {
	for end := len(buf); end > 0; end-- {
		if endsWithBlankLine(buf[:end]) {
			return end
		}
	}
	return 0
}

// endsWithBlankLine reports whether b ends with an empty line: a line end
// that follows another line end or the start of b.
func endsWithBlankLine(b []byte) bool {
	n := len(b)
	var before int // index of the byte before the last line end
	switch {
	case n >= 2 && b[n-2] == '\r' && b[n-1] == '\n':
		before = n - 3
	case b[n-1] == '\n' || b[n-1] == '\r':
		before = n - 2
	default:
		return false
	}
	return before < 0 || b[before] == '\n' || b[before] == '\r'
}
