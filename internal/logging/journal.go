package logging

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/rs/zerolog"
)

// This writer speaks journald's native protocol itself instead of using
// github.com/rs/zerolog/journald, which sends a field named "priority" (an
// endpoint's tier, say) as a second PRIORITY= that overrides the level,
// repeats every entry whole under JSON=, sets no SYSLOG_IDENTIFIER, maps
// panic to EMERG (which journald broadcasts to every terminal), drops the line
// when journald cannot take it, and can only be pointed at a test socket
// through package globals.

// journalSocket is where journald reads native-protocol datagrams.
const journalSocket = "/run/systemd/journal/socket"

// syslogIdentifier names the daemon's entries in the journal.
const syslogIdentifier = "qccd"

// journalTimeout bounds one send: if journald is too slow to take a line,
// the line goes to stderr rather than stalling the request that logged it.
const journalTimeout = time.Second

// reservedField reports whether name is a journal field that the writer
// sets itself or that journald and journalctl give a meaning. A log key that
// maps to one is prefixed with QCC_ rather than silently change that meaning.
func reservedField(name string) bool {
	switch name {
	case "MESSAGE", "MESSAGE_ID", "PRIORITY", "ERRNO",
		"CODE_FILE", "CODE_LINE", "CODE_FUNC",
		"SYSLOG_IDENTIFIER", "SYSLOG_FACILITY", "SYSLOG_PID", "SYSLOG_TIMESTAMP", "SYSLOG_RAW",
		"INVOCATION_ID", "USER_INVOCATION_ID", "UNIT", "USER_UNIT",
		"OBJECT_PID", "COREDUMP_UNIT", "COREDUMP_USER_UNIT", "DOCUMENTATION", "TID":
		return true
	}
	return false
}

// journalWriter turns zerolog's JSON events into journal entries with one
// field per top-level key. Whatever journald does not take is written to
// fallback unchanged, so no line is ever lost silently.
type journalWriter struct {
	conn     *net.UnixConn // unconnected, so that a journald restart is survived
	addr     *net.UnixAddr
	fallback io.Writer
	failing  atomic.Bool // the last send failed; the next success clears it
}

// newJournalWriter opens a local datagram socket for sending to the journal
// socket at path. The socket lives as long as the process's logger.
func newJournalWriter(path string, fallback io.Writer) (*journalWriter, error) {
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("opening a socket for journald: %w", err)
	}
	return &journalWriter{
		conn:     conn,
		addr:     &net.UnixAddr{Name: path, Net: "unixgram"},
		fallback: fallback,
	}, nil
}

// Write sends one zerolog event to journald, or to the fallback if journald
// does not take it. On the first failure after a success it also writes a
// line to the fallback saying why.
func (w *journalWriter) Write(p []byte) (int, error) {
	entry, err := journalEntry(p)
	if err == nil {
		err = w.send(entry)
	}
	if err == nil {
		w.failing.Store(false)
		return len(p), nil
	}
	if w.failing.CompareAndSwap(false, true) {
		note, _ := json.Marshal(map[string]string{
			zerolog.LevelFieldName:   zerolog.WarnLevel.String(),
			zerolog.MessageFieldName: "journald did not take a log line; writing to stderr until it does",
			zerolog.ErrorFieldName:   err.Error(),
		})
		_, _ = w.fallback.Write(append(note, '\n'))
	}
	return w.fallback.Write(p)
}

func (w *journalWriter) send(entry []byte) error {
	// The deadline is shared by concurrent writers; each one pushes it to
	// its own start plus journalTimeout, which keeps every send bounded.
	if err := w.conn.SetWriteDeadline(time.Now().Add(journalTimeout)); err != nil {
		return err
	}
	// A line larger than the socket's buffer fails with EMSGSIZE and takes
	// the fallback; journald's memfd transport is not worth it for a proxy's
	// log lines.
	_, err := w.conn.WriteToUnix(entry, w.addr)
	return err
}

// Close releases the socket.
func (w *journalWriter) Close() error { return w.conn.Close() }

// journalEntry encodes one zerolog JSON event as a native-protocol datagram:
// PRIORITY from the level, SYSLOG_IDENTIFIER, MESSAGE, then every other
// top-level key in event order, named by journalField. Strings are sent as
// their text, numbers and booleans as written, objects and arrays as JSON.
func journalEntry(event []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(event))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("log event is not a JSON object")
	}
	priority := journal.PriNotice // an event logged without a level
	var message string
	var fields bytes.Buffer
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return nil, err
		}
		value := string(raw)
		if len(raw) > 0 && raw[0] == '"' {
			if err := json.Unmarshal(raw, &value); err != nil {
				return nil, err
			}
		}
		switch key {
		case zerolog.LevelFieldName:
			priority = journalPriority(value)
		case zerolog.MessageFieldName:
			message = value
		default:
			appendJournalField(&fields, journalField(key), value)
		}
	}

	var b bytes.Buffer
	appendJournalField(&b, "PRIORITY", strconv.Itoa(int(priority)))
	appendJournalField(&b, "SYSLOG_IDENTIFIER", syslogIdentifier)
	appendJournalField(&b, "MESSAGE", message)
	b.Write(fields.Bytes())
	return b.Bytes(), nil
}

// journalPriority maps a zerolog level name to a syslog priority.
func journalPriority(level string) journal.Priority {
	l, err := zerolog.ParseLevel(level)
	if err != nil {
		return journal.PriNotice
	}
	switch l {
	case zerolog.TraceLevel, zerolog.DebugLevel:
		return journal.PriDebug
	case zerolog.InfoLevel:
		return journal.PriInfo
	case zerolog.WarnLevel:
		return journal.PriWarning
	case zerolog.ErrorLevel:
		return journal.PriErr
	case zerolog.FatalLevel, zerolog.PanicLevel:
		// Not EMERG: journald would broadcast it to every logged-in terminal.
		return journal.PriCrit
	}
	return journal.PriNotice
}

// journalField names a log key as journald requires: upper case letters,
// digits and underscores, not starting with a digit or an underscore (those
// are journald's own), at most 64 bytes. Keys that would clash with a
// reserved field, or would be invalid, get a QCC_ prefix.
func journalField(key string) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		case 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_':
			return r
		}
		return '_'
	}, key)
	if name == "" || name[0] == '_' || ('0' <= name[0] && name[0] <= '9') || reservedField(name) {
		name = "QCC_" + name
	}
	return name[:min(len(name), 64)]
}

// appendJournalField writes one field in the native protocol: NAME=value on
// a line, or, when the value holds a newline (a stack trace), the name on its
// own line followed by the value's length as a little-endian uint64.
func appendJournalField(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	if !strings.Contains(value, "\n") {
		b.WriteByte('=')
		b.WriteString(value)
		b.WriteByte('\n')
		return
	}
	b.WriteByte('\n')
	b.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(value))))
	b.WriteString(value)
	b.WriteByte('\n')
}
