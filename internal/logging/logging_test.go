package logging

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// fixedClock is 12:34:56.789 on a fixed day, in a zone with an offset so that
// the golden file shows it.
func fixedClock() time.Time {
	return time.Date(2026, 3, 14, 12, 34, 56, 789_000_000, time.FixedZone("CET", 3600))
}

func TestJSONOutput(t *testing.T) {
	var out bytes.Buffer
	log, closeLog, err := build(Options{Level: "debug", Format: "json", Stderr: &out}, fixedClock, "")
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Str("cluster", "prod").Str("endpoint", "main").Msg("listening")
	log.Warn().Str("cluster", "prod").Int("status", 529).Dur("latency", 1500*time.Microsecond).
		Err(errors.New("upstream overloaded")).Msg("attempt failed")
	log.Debug().Dict("upstream", zerolog.Dict().Str("host", "api.anthropic.com").Int("port", 443)).Msg("dialing")
	log.Error().Durs("attempts", []time.Duration{250 * time.Millisecond, 2 * time.Second}).Msg("all endpoints failed")
	closeLog()

	golden := filepath.Join("testdata", "json.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != string(want) {
		t.Errorf("JSON output differs from %s (run with -update after checking):\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}

func TestLevelFiltering(t *testing.T) {
	tests := []struct {
		level string
		want  []string
	}{
		{"", []string{"info", "warn", "error"}},
		{"debug", []string{"debug", "info", "warn", "error"}},
		{"info", []string{"info", "warn", "error"}},
		{"warn", []string{"warn", "error"}},
		{"error", []string{"error"}},
	}
	for _, tc := range tests {
		t.Run("level="+tc.level, func(t *testing.T) {
			var out bytes.Buffer
			log, closeLog, err := New(Options{Level: tc.level, Format: "json", Stderr: &out})
			if err != nil {
				t.Fatal(err)
			}
			log.Trace().Msg("trace")
			log.Debug().Msg("debug")
			log.Info().Msg("info")
			log.Warn().Msg("warn")
			log.Error().Msg("error")
			closeLog()

			var got []string
			for line := range strings.Lines(out.String()) {
				_, rest, _ := strings.Cut(line, `"message":"`)
				msg, _, _ := strings.Cut(rest, `"`)
				got = append(got, msg)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("written %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    zerolog.Level
		wantErr bool
	}{
		{"debug", zerolog.DebugLevel, false},
		{"info", zerolog.InfoLevel, false},
		{"warn", zerolog.WarnLevel, false},
		{"error", zerolog.ErrorLevel, false},
		{"", 0, true},
		{"trace", 0, true},
		{"warning", 0, true},
		{"INFO", 0, true},
		{"fatal", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseLevel(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, opts := range []Options{
		{Level: "verbose", Stderr: &bytes.Buffer{}},
		{Format: "text", Stderr: &bytes.Buffer{}},
	} {
		if _, _, err := New(opts); err == nil {
			t.Errorf("New(%+v) succeeded", opts)
		}
	}
}

func TestConsoleFormat(t *testing.T) {
	var out bytes.Buffer
	local := func() time.Time { return time.Date(2026, 3, 14, 12, 34, 56, 789_000_000, time.Local) }
	log, closeLog, err := build(Options{Format: "console", Stderr: &out}, local, "")
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Str("cluster", "prod").Msg("listening")
	closeLog()
	got := out.String()
	for _, want := range []string{"12:34:56.789", "INF", "listening", "cluster=prod"} {
		if !strings.Contains(got, want) {
			t.Errorf("console line %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "\x1b[") {
		t.Errorf("console line to a non-terminal is coloured: %q", got)
	}
}

func TestAutoFormat(t *testing.T) {
	t.Run("buffer gets JSON", func(t *testing.T) {
		var out bytes.Buffer
		log, closeLog, err := New(Options{Stderr: &out})
		if err != nil {
			t.Fatal(err)
		}
		log.Info().Msg("hello")
		closeLog()
		if !strings.HasPrefix(out.String(), `{"level":"info"`) {
			t.Errorf("auto format to a buffer wrote %q, want JSON", out.String())
		}
	})

	t.Run("journal stream gets journald", func(t *testing.T) {
		conn, path := listenJournal(t)
		var st syscall.Stat_t
		if err := syscall.Fstat(int(os.Stderr.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		t.Setenv("JOURNAL_STREAM", journalStream(st))
		log, closeLog, err := build(Options{}, fixedClock, path)
		if err != nil {
			t.Fatal(err)
		}
		defer closeLog()
		log.Info().Str("cluster", "prod").Msg("ready")
		got := readEntry(t, conn)
		want := "PRIORITY=6 SYSLOG_IDENTIFIER=qccd MESSAGE=ready CLUSTER=prod"
		if got.String() != want {
			t.Errorf("entry %s, want %s", got, want)
		}
	})

	t.Run("other stream is not the journal", func(t *testing.T) {
		t.Setenv("JOURNAL_STREAM", "1:1")
		w, err := autoWriter(os.Stderr, filepath.Join(t.TempDir(), "journal"))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := w.(*journalWriter); ok {
			t.Error("auto picked journald for a stderr that is not the journal stream")
		}
	})
}
