// Package logging builds the daemon's zerolog logger: native journald
// entries under systemd, so that `journalctl -u qccd CLUSTER=prod` works,
// a readable console on a terminal, and JSON lines everywhere else.
//
// It changes none of zerolog's package-level settings. Durations logged with
// Dur come out as float milliseconds, which is zerolog's default.
package logging

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// TimeFormat is the timestamp layout of JSON and console lines: RFC 3339 with
// milliseconds, which is fine enough to order the events of one request.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Options choose the level, format and destination of the logger.
type Options struct {
	// Level is the least severe level written: "debug", "info", "warn" or
	// "error". Empty means "info".
	Level string
	// Format is "json", "console", "journal" or "auto" (also when empty).
	// Auto logs to journald when stderr is connected to the journal, as it
	// is under systemd; to the console format when stderr is a terminal; and
	// JSON otherwise.
	Format string
	// Stderr is where JSON and console lines go, and where journal lines go
	// when journald cannot take them. Default os.Stderr.
	Stderr io.Writer
}

// ParseLevel returns the zerolog level for a log_level setting.
func ParseLevel(s string) (zerolog.Level, error) {
	switch s {
	case "debug":
		return zerolog.DebugLevel, nil
	case "info":
		return zerolog.InfoLevel, nil
	case "warn":
		return zerolog.WarnLevel, nil
	case "error":
		return zerolog.ErrorLevel, nil
	}
	return zerolog.NoLevel, fmt.Errorf("unknown log level %q: want debug, info, warn or error", s)
}

// New returns a logger configured by opts, and the function that closes
// it. The logger's lines are written by a goroutine of its own (see
// asyncWriter); close writes what is still queued and stops it, so call it
// after the last line. Lines logged after close are written directly.
func New(opts Options) (log zerolog.Logger, close func(), err error) {
	return build(opts, time.Now, journalSocket)
}

// build is New with its clock and journald socket made explicit for tests.
func build(opts Options, now func() time.Time, socket string) (zerolog.Logger, func(), error) {
	level := zerolog.InfoLevel
	if opts.Level != "" {
		var err error
		if level, err = ParseLevel(opts.Level); err != nil {
			return zerolog.Nop(), nil, err
		}
	}
	stderr := opts.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}

	var (
		w          io.Writer
		journalErr error // why auto mode did not use journald after all
	)
	switch opts.Format {
	case "", "auto":
		w, journalErr = autoWriter(stderr, socket)
	case "json":
		w = stderr
	case "console":
		w = console(stderr)
	case "journal":
		jw, err := newJournalWriter(socket, stderr)
		if err != nil {
			return zerolog.Nop(), nil, err
		}
		w = jw
	default:
		return zerolog.Nop(), nil, fmt.Errorf("unknown log format %q: want auto, json, console or journal", opts.Format)
	}

	// Only JSON lines straight to stderr may be joined into one write:
	// journald takes an entry per datagram, and the console writer
	// reformats one event per Write.
	_, isJournal := w.(*journalWriter)
	_, isConsole := w.(zerolog.ConsoleWriter)
	aw := newAsyncWriter(w, !isJournal && !isConsole, linger)
	l := zerolog.New(aw).Level(level)
	if !isJournal {
		// journald stamps entries itself. A hook rather than
		// Context.Timestamp because the latter formats with the global
		// zerolog.TimeFieldFormat.
		l = l.Hook(zerolog.HookFunc(func(e *zerolog.Event, _ zerolog.Level, _ string) {
			e.Str(zerolog.TimestampFieldName, now().Format(TimeFormat))
		}))
	}
	if journalErr != nil {
		l.Warn().Err(journalErr).Msg("stderr is the journal but journald's socket is unusable; logging JSON instead")
	}
	return l, func() { _ = aw.Close() }, nil
}

// autoWriter picks the destination for the auto format. Its error is only
// worth a warning: the writer it returns with it still works.
func autoWriter(stderr io.Writer, socket string) (io.Writer, error) {
	if stderr == os.Stderr && stderrIsJournal() {
		jw, err := newJournalWriter(socket, stderr)
		if err != nil {
			// stderr still reaches the journal, as plain lines.
			return stderr, err
		}
		return jw, nil
	}
	if isTerminal(stderr) {
		return console(stderr), nil
	}
	return stderr, nil
}

// stderrIsJournal reports whether the process's stderr is the journal's
// stream, which systemd announces in JOURNAL_STREAM. A malformed
// JOURNAL_STREAM counts as no.
func stderrIsJournal() bool {
	ok, err := journal.StderrIsJournalStream()
	return err == nil && ok
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// console renders lines for a person. Colour only when a terminal will show
// it, not when `qccd --log-format console` is piped into a file.
func console(w io.Writer) zerolog.ConsoleWriter {
	return zerolog.ConsoleWriter{
		Out:        w,
		TimeFormat: "15:04:05.000",
		NoColor:    !isTerminal(w),
	}
}
