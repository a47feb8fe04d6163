package sse

import (
	"bytes"
	"encoding/json"
)

// Tracker follows one Anthropic stream as its events pass through and keeps
// what the proxy needs to know afterwards: the usage, whether the message
// finished, and whether the upstream reported an error.
//
// The zero value is ready to use. A Tracker is not safe for concurrent use;
// it belongs to the goroutine relaying its stream.
type Tracker struct {
	usage   Usage
	events  int
	stopped bool
	errored bool
	errType string
	// joined holds the data of an event spread over several data lines; it
	// is reused so that only the first such event allocates.
	joined []byte
}

// Observe reads one or more complete events, normally the prefix of a chunk
// that [Boundary] returned. Bytes after the last blank line belong to an
// event that has not ended and are ignored.
//
// Only message_start, message_delta and error events are read, the first
// two by a scan that does not allocate (see JSONUsage); every other event
// costs one comparison of its name.
func (t *Tracker) Observe(events []byte) {
	var (
		name, data []byte
		hasData    bool
		isJoined   bool
	)
	for len(events) > 0 {
		line, rest, ok := cutLine(events)
		if !ok {
			return
		}
		events = rest
		if len(line) == 0 {
			// The SSE specification dispatches an event only if it had
			// data; a lone blank line, such as the "\n" of a "\r\n" that
			// Boundary split, is nothing.
			if hasData {
				t.dispatch(name, data)
			}
			name, data, hasData, isJoined = nil, nil, false, false
			continue
		}
		field, value := cutField(line)
		switch string(field) {
		case "event":
			name = value
		case "data":
			switch {
			case !hasData:
				data, hasData = value, true
			case !isJoined:
				t.joined = append(append(append(t.joined[:0], data...), '\n'), value...)
				data, isJoined = t.joined, true
			default:
				t.joined = append(append(t.joined, '\n'), value...)
				data = t.joined
			}
		}
	}
}

// dispatch accounts for one complete event.
func (t *Tracker) dispatch(name, data []byte) {
	t.events++
	if len(name) == 0 {
		// Some relays drop the event: lines; the payload names its type too.
		name = payloadType(data)
	}
	switch string(name) {
	case "message_start":
		if w, ok := startUsage(data); ok {
			// A new message starts a new count.
			t.usage = Usage{}
			w.mergeInto(&t.usage)
		}
	case "message_delta":
		// The counts in message_delta are cumulative totals for the whole
		// message: the latest value replaces the earlier one. Counts it
		// omits keep the value message_start reported.
		if w, ok := deltaUsage(data); ok {
			w.mergeInto(&t.usage)
		}
	case "message_stop":
		t.stopped = true
	case "error":
		t.errored = true
		var ev struct {
			Error struct {
				Type string `json:"type"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &ev) == nil {
			t.errType = ev.Error.Type
		}
	}
}

// Usage returns the usage reported so far: message_start's counts, updated
// by every message_delta seen since.
func (t *Tracker) Usage() Usage { return t.usage }

// Stopped reports whether a message_stop event was seen, i.e. whether the
// message arrived whole.
func (t *Tracker) Stopped() bool { return t.stopped }

// Errored reports whether an error event was seen.
func (t *Tracker) Errored() bool { return t.errored }

// ErrorType returns the error type of the last error event, such as
// "overloaded_error"; it is empty when there was none or it was unreadable.
func (t *Tracker) ErrorType() string { return t.errType }

// Events returns the number of events seen.
func (t *Tracker) Events() int { return t.events }

// cutLine splits the first line off b. ok is false when b holds no line
// terminator, i.e. the line is not complete.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	// Anthropic ends lines with "\n": find that with the fast search first,
	// then look for a "\r" only within the one line.
	end := bytes.IndexByte(b, '\n')
	head := b
	if end >= 0 {
		head = b[:end]
	}
	if cr := bytes.IndexByte(head, '\r'); cr >= 0 {
		if cr+1 < len(b) && b[cr+1] == '\n' {
			return b[:cr], b[cr+2:], true
		}
		return b[:cr], b[cr+1:], true
	}
	if end < 0 {
		return nil, nil, false
	}
	return b[:end], b[end+1:], true
}

// cutField splits an SSE line into its field name and value. A line that
// starts with a colon is a comment and yields an empty field name.
func cutField(line []byte) (field, value []byte) {
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		return line, nil
	}
	value = line[i+1:]
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	return line[:i], value
}

// payloadType returns the value of the "type" member that opens an event's
// JSON payload, as in {"type":"message_stop"} or {"type": "ping"}, without
// decoding the payload. It returns nil when the payload does not start so.
func payloadType(data []byte) []byte {
	rest, ok := skipPrefix(data, '{')
	if !ok {
		return nil
	}
	if rest, ok = bytes.CutPrefix(bytes.TrimLeft(rest, " \t\r\n"), []byte(`"type"`)); !ok {
		return nil
	}
	if rest, ok = skipPrefix(rest, ':'); !ok {
		return nil
	}
	if rest, ok = skipPrefix(rest, '"'); !ok {
		return nil
	}
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return nil
	}
	return rest[:end]
}

// skipPrefix drops leading JSON whitespace and then c from b.
func skipPrefix(b []byte, c byte) ([]byte, bool) {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != c {
		return nil, false
	}
	return b[1:], true
}
