package logging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// listenJournal stands in for journald: a unixgram socket in a temp dir.
func listenJournal(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, path
}

func journalStream(st syscall.Stat_t) string {
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// field is one journal field as received.
type field struct{ name, value string }

type entry []field

// String shows an entry as NAME=value pairs separated by spaces, with
// newlines in values written as \n.
func (e entry) String() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.name + "=" + strings.ReplaceAll(f.value, "\n", `\n`)
	}
	return strings.Join(parts, " ")
}

// readEntry receives one datagram and decodes the native protocol, both of
// its forms, independently of the writer's encoder.
func readEntry(t *testing.T, conn *net.UnixConn) entry {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no journal entry arrived: %v", err)
	}
	b := buf[:n]
	var e entry
	for len(b) > 0 {
		line, rest, ok := bytes.Cut(b, []byte("\n"))
		if !ok {
			t.Fatalf("unterminated field %q", b)
		}
		if name, value, ok := bytes.Cut(line, []byte("=")); ok {
			e = append(e, field{string(name), string(value)})
			b = rest
			continue
		}
		if len(rest) < 8 {
			t.Fatalf("field %s: no length", line)
		}
		size := binary.LittleEndian.Uint64(rest)
		rest = rest[8:]
		if uint64(len(rest)) < size+1 || rest[size] != '\n' {
			t.Fatalf("field %s: bad binary value", line)
		}
		e = append(e, field{string(line), string(rest[:size])})
		b = rest[size+1:]
	}
	return e
}

func TestJournalEntries(t *testing.T) {
	conn, path := listenJournal(t)
	var stderr bytes.Buffer
	w, err := newJournalWriter(path, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	log := zerolog.New(w).Level(zerolog.TraceLevel)

	tests := []struct {
		name string
		log  func()
		want string
	}{
		{
			name: "fields for journalctl matches",
			log:  func() { log.Info().Str("cluster", "prod").Str("endpoint", "main").Msg("endpoint healthy") },
			want: "PRIORITY=6 SYSLOG_IDENTIFIER=qccd MESSAGE=endpoint healthy CLUSTER=prod ENDPOINT=main",
		},
		{
			name: "scalars and errors",
			log: func() {
				log.Error().Int("status", 529).Dur("latency", 1500*time.Microsecond).Bool("retried", true).
					Err(errors.New(`upstream said "overloaded"`)).Msg("attempt failed")
			},
			want: `PRIORITY=3 SYSLOG_IDENTIFIER=qccd MESSAGE=attempt failed STATUS=529 LATENCY=1.5 RETRIED=true ERROR=upstream said "overloaded"`,
		},
		{
			name: "nested values as JSON",
			log: func() {
				log.Warn().Dict("upstream", zerolog.Dict().Str("host", "api").Int("port", 443)).
					Strs("tried", []string{"a", "b"}).Interface("none", nil).Msg("slow")
			},
			want: `PRIORITY=4 SYSLOG_IDENTIFIER=qccd MESSAGE=slow UPSTREAM={"host":"api","port":443} TRIED=["a","b"] NONE=null`,
		},
		{
			name: "names journald would misread",
			log: func() {
				log.Debug().Int("priority", 2).Str("MESSAGE", "x").Str("syslog_identifier", "evil").
					Str("http.status", "ok").Str("_pid", "1").Str("2xx", "3").Str("naïve", "y").Msg("")
			},
			want: "PRIORITY=7 SYSLOG_IDENTIFIER=qccd MESSAGE= QCC_PRIORITY=2 QCC_MESSAGE=x QCC_SYSLOG_IDENTIFIER=evil " +
				"HTTP_STATUS=ok QCC__PID=1 QCC_2XX=3 NA_VE=y",
		},
		{
			name: "long names are cut",
			log:  func() { log.Info().Str(strings.Repeat("k", 70), "v").Msg("m") },
			want: "PRIORITY=6 SYSLOG_IDENTIFIER=qccd MESSAGE=m " + strings.Repeat("K", 64) + "=v",
		},
		{
			name: "multi-line values",
			log:  func() { log.Error().Str("stack", "goroutine 1\nmain.main()").Msg("line one\nline two") },
			want: `PRIORITY=3 SYSLOG_IDENTIFIER=qccd MESSAGE=line one\nline two STACK=goroutine 1\nmain.main()`,
		},
		{
			name: "no level",
			log:  func() { log.Log().Msg("plain") },
			want: "PRIORITY=5 SYSLOG_IDENTIFIER=qccd MESSAGE=plain",
		},
		{
			name: "panic level is not an emergency",
			log:  func() { log.WithLevel(zerolog.PanicLevel).Msg("bug") },
			want: "PRIORITY=2 SYSLOG_IDENTIFIER=qccd MESSAGE=bug",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.log()
			if got := readEntry(t, conn).String(); got != tc.want {
				t.Errorf("entry:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	if stderr.Len() != 0 {
		t.Errorf("lines went to stderr while journald was up: %s", stderr.String())
	}
}

// lockedBuffer is a stderr that concurrent writers can share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns what was written since the last take.
func (b *lockedBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

func TestJournalFallsBackToStderr(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	stderr := &lockedBuffer{}
	w, err := newJournalWriter(path, stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	log := zerolog.New(w)

	// journald is not there: every line reaches stderr whole, after one
	// warning that says why.
	log.Info().Str("cluster", "prod").Msg("first")
	log.Info().Msg("second")
	lines := strings.Split(strings.TrimSuffix(stderr.take(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("stderr got %d lines, want a warning and 2 log lines: %q", len(lines), lines)
	}
	if !strings.Contains(lines[0], `"level":"warn"`) || !strings.Contains(lines[0], "journald") {
		t.Errorf("first stderr line %s is not the warning", lines[0])
	}
	if lines[1] != `{"level":"info","cluster":"prod","message":"first"}` || lines[2] != `{"level":"info","message":"second"}` {
		t.Errorf("log lines on stderr = %q", lines[1:])
	}

	// journald comes back: lines go there again.
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Msg("third")
	if got := readEntry(t, conn).String(); got != "PRIORITY=6 SYSLOG_IDENTIFIER=qccd MESSAGE=third" {
		t.Errorf("entry after journald came back: %s", got)
	}
	if got := stderr.take(); got != "" {
		t.Errorf("stderr got %q while journald was up", got)
	}

	// A line larger than the socket takes falls back on its own, with a
	// fresh warning since the previous line went through.
	big := strings.Repeat("x", 1<<20) // beyond the default 208 KiB socket send buffer
	log.Info().Str("body", big).Msg("huge")
	got := stderr.take()
	if !strings.Contains(got, "journald") || !strings.Contains(got, big) {
		t.Errorf("oversized line did not reach stderr with a warning (%d bytes written)", len(got))
	}

	// journald goes away again.
	conn.Close()
	os.Remove(path)
	log.Info().Msg("fourth")
	if got := stderr.take(); !strings.HasSuffix(got, `{"level":"info","message":"fourth"}`+"\n") {
		t.Errorf("stderr after journald left = %q", got)
	}
}

func TestJournalField(t *testing.T) {
	tests := []struct{ key, want string }{
		{"cluster", "CLUSTER"},
		{"Endpoint_Name", "ENDPOINT_NAME"},
		{"http.status-code", "HTTP_STATUS_CODE"},
		{"priority", "QCC_PRIORITY"},
		{"message", "QCC_MESSAGE"},
		{"unit", "QCC_UNIT"},
		{"_boot_id", "QCC__BOOT_ID"},
		{"5xx", "QCC_5XX"},
		{"", "QCC_"},
		{"日本", "QCC___"},
	}
	for _, tc := range tests {
		if got := journalField(tc.key); got != tc.want {
			t.Errorf("journalField(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}
