package stats_test

import (
	"github.com/qcc-dev/qcc/internal/testutil"

	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/proxy"
	"github.com/qcc-dev/qcc/internal/sse"
	"github.com/qcc-dev/qcc/internal/stats"
)

// run starts c and returns a func that stops it and waits for Run to end.
func run(t *testing.T, c *stats.Collector) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// bound: it waits for the collector's goroutine, never for a time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sampleEvents() []stats.Event {
	return []stats.Event{
		{Cluster: "prod", Endpoint: "a", Status: 200, Attempts: 1, TTFB: 300 * time.Millisecond, Duration: 40 * time.Second,
			Usage: sse.Usage{Input: 1000, Output: 200, CacheRead: 800, CacheCreation: 100}, Stream: true},
		{Cluster: "prod", Endpoint: "b", Status: 200, Attempts: 2, TTFB: time.Second, Duration: 2 * time.Second,
			Usage: sse.Usage{Input: 10, Output: 5}, Failed: []proxy.FailedAttempt{{Endpoint: "a", Status: 529}}},
		{Cluster: "prod", Endpoint: "a", Status: 200, Attempts: 1, TTFB: 100 * time.Millisecond, Duration: time.Second, StreamError: true},
		{Cluster: "prod", Status: 503, Duration: time.Millisecond},
	}
}

// TestTotalsSurviveRestart runs a collector, stops it, starts another on
// the same state directory, and checks that the totals (quantiles and start
// time included) are what the first one had, and that they keep adding up.
func TestTotalsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	start := clk.Now()
	c1 := stats.New(stats.Options{StateDir: dir, Now: clk.Now})
	stop := run(t, c1)
	for _, ev := range sampleEvents() {
		c1.Submit(ev)
	}
	stop()
	before := c1.Report(0)
	if before.Total.Requests != 4 {
		t.Fatalf("first run counted %d requests, want 4", before.Total.Requests)
	}

	clk.Advance(time.Hour)
	c2 := stats.New(stats.Options{StateDir: dir, Now: clk.Now})
	stop = run(t, c2)
	waitFor(t, "the saved totals to load", func() bool { return c2.Report(0).Total.Requests == 4 })
	after := c2.Report(0)
	if !reflect.DeepEqual(after, before) {
		t.Errorf("after a restart:\n got  %+v\n want %+v", after, before)
	}
	if !after.Since.Equal(start) {
		t.Errorf("since %v, want the first start %v", after.Since, start)
	}
	if got := c2.Report(time.Hour).Total.Requests; got != 0 {
		t.Errorf("the 1h window has %d requests after a restart; only totals are kept", got)
	}
	for _, ev := range sampleEvents() {
		c2.Submit(ev)
	}
	stop()

	c3 := stats.New(stats.Options{StateDir: dir, Now: clk.Now})
	stop = run(t, c3)
	defer stop()
	waitFor(t, "the saved totals to load", func() bool { return c3.Report(0).Total.Requests == 8 })
	rep := c3.Report(0)
	a := find(t, rep, "prod", "a")
	if a.Attempts != 6 || a.Failovers != 2 || a.StreamErrors != 2 || a.Tokens.CacheRead != 1600 {
		t.Errorf("prod/a after two runs: %+v", a)
	}
}

func TestTotalsAreSavedPeriodically(t *testing.T) {
	dir := t.TempDir()
	c := stats.New(stats.Options{StateDir: dir, SaveEvery: 10 * time.Millisecond})
	defer run(t, c)()
	c.Submit(sampleEvents()[0])
	path := filepath.Join(dir, stats.StateFile)
	waitFor(t, "a periodic save", func() bool {
		b, err := os.ReadFile(path)
		return err == nil && strings.Contains(string(b), `"requests":1`)
	})
	// No temporary file is left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != stats.StateFile {
			t.Errorf("stray file %s in the state directory", e.Name())
		}
	}
}

// TestCorruptStateIsMovedAside: whatever is wrong with the file, the
// collector logs it, moves it aside for a person to look at, starts from
// zero and writes a good file on the next save.
func TestCorruptStateIsMovedAside(t *testing.T) {
	good := func(edit func(m map[string]any)) string {
		m := map[string]any{
			"version": 1, "since": "2026-01-01T00:00:00Z", "histogram": "log2/4 from 1ms, 79 buckets",
			"series": []any{map[string]any{"cluster": "prod", "requests": 3, "by_class": map[string]any{"2xx": 3}}},
		}
		edit(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	series := func(m map[string]any) map[string]any { return m["series"].([]any)[0].(map[string]any) }
	tests := []struct {
		name, content string
	}{
		{"garbage", "\x00\x01 not json"},
		{"truncated", good(func(map[string]any) {})[:40]},
		{"empty", ""},
		{"future version", good(func(m map[string]any) { m["version"] = 2 })},
		{"no start", good(func(m map[string]any) { delete(m, "since") })},
		{"negative count", good(func(m map[string]any) { series(m)["requests"] = -1 })},
		{"unknown class", good(func(m map[string]any) { series(m)["by_class"] = map[string]any{"6xx": 1} })},
		{"bad code", good(func(m map[string]any) { series(m)["by_code"] = map[string]any{"ok": 1} })},
		{"no cluster", good(func(m map[string]any) { delete(series(m), "cluster") })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, stats.StateFile)
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs testutil.LogBuffer
			c := stats.New(stats.Options{StateDir: dir, Log: zerolog.New(&logs)})
			stop := run(t, c)
			c.Submit(sampleEvents()[0])
			stop()

			if got := c.Report(0).Total.Requests; got != 1 {
				t.Errorf("%d requests after a corrupt file, want 1: a fresh start", got)
			}
			if !strings.Contains(logs.String(), "corrupt") {
				t.Errorf("nothing logged about the corrupt file:\n%s", logs.String())
			}
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if len(aside) != 1 {
				t.Fatalf("corrupt file not moved aside: %v", aside)
			}
			if b, _ := os.ReadFile(aside[0]); string(b) != tc.content {
				t.Errorf("the file moved aside was changed")
			}
			b, err := os.ReadFile(path)
			if err != nil || !strings.Contains(string(b), `"requests":1`) {
				t.Errorf("no good state file written after the corrupt one: %q, %v", b, err)
			}
		})
	}
}

// TestGoodStateLoads is the other side of the corrupt cases: the file they
// start from loads as it is, with no histograms of the right layout needed.
func TestGoodStateLoads(t *testing.T) {
	for _, scheme := range []string{"log2/4 from 1ms, 79 buckets", "some older buckets"} {
		dir := t.TempDir()
		content := `{"version":1,"since":"2026-01-01T00:00:00Z","histogram":"` + scheme + `",` +
			`"series":[{"cluster":"prod","requests":3,"by_class":{"2xx":3},"by_code":{"200":3},"ttfb_buckets":[1,2]}]}`
		if err := os.WriteFile(filepath.Join(dir, stats.StateFile), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		c := stats.New(stats.Options{StateDir: dir})
		stop := run(t, c)
		waitFor(t, "the saved totals to load", func() bool { return c.Report(0).Total.Requests == 3 })
		stop()
		if rep := c.Report(0); rep.Total.ByCode["200"] != 3 || !rep.Since.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("scheme %q: loaded %+v", scheme, rep)
		}
	}
}

// TestUnwritableStateDirIsNotFatal: a state directory that cannot be made
// costs the totals' persistence, logged once, and nothing else.
func TestUnwritableStateDirIsNotFatal(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs testutil.LogBuffer
	c := stats.New(stats.Options{StateDir: filepath.Join(file, "qccd"), SaveEvery: time.Millisecond, Log: zerolog.New(&logs)})
	stop := run(t, c)
	for i := range 5 {
		c.Submit(sampleEvents()[i%4])
		time.Sleep(5 * time.Millisecond) // let a few saves fail
	}
	stop()
	if got := c.Report(0).Total.Requests; got != 5 {
		t.Errorf("%d requests counted, want 5", got)
	}
	if n := strings.Count(logs.String(), "cannot save stats"); n != 1 {
		t.Errorf("save failure logged %d times, want once:\n%s", n, logs.String())
	}
}

// TestFlushBeforeLoadKeepsTheFile pins a shutdown before Run ever ran:
// saving then would replace the real totals with nothing.
func TestFlushBeforeLoadKeepsTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, stats.StateFile)
	content := `{"version":1,"since":"2026-01-01T00:00:00Z","histogram":"","series":[{"cluster":"prod","requests":3}]}`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	c := stats.New(stats.Options{StateDir: dir})
	c.Submit(sampleEvents()[0])
	c.Flush()
	if b, _ := os.ReadFile(path); string(b) != content {
		t.Errorf("Flush without Run rewrote the state file: %s", b)
	}
}
