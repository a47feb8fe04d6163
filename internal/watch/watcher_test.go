package watch

import (
	"github.com/qcc-dev/qcc/internal/testutil"

	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/watch/watchtest"
)

// waitFor is how long a test waits for something the watcher should do
// within a debounce or a retry: generous, because the machine is shared.
const waitFor = 10 * time.Second

// recorder is an Apply that remembers the content it was called with, and
// plays the daemon's Current.
type recorder struct {
	fail func(content string) error // nil: accept everything

	mu      sync.Mutex
	calls   []call
	running string        // digest of the content applied last, as Current
	seen    chan struct{} // receives (without blocking) after every call
}

type call struct {
	trigger, content string
}

func (r *recorder) apply(trigger string, b []byte) error {
	var err error
	if r.fail != nil {
		err = r.fail(string(b))
	}
	r.mu.Lock()
	r.calls = append(r.calls, call{trigger, string(b)})
	if err == nil {
		r.running = digest(string(b))
	}
	r.mu.Unlock()
	select {
	case r.seen <- struct{}{}:
	default:
	}
	return err
}

func (r *recorder) current() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running
}

// runs sets what the daemon runs with, as a SIGHUP would.
func (r *recorder) runs(content string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running = digest(content)
}

func (r *recorder) snapshot() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// waitContent waits until Apply has been called with want in the file.
func (r *recorder) waitContent(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		if calls := r.snapshot(); len(calls) > 0 && calls[len(calls)-1].content == want {
			return
		}
		select {
		case <-r.seen:
		case <-deadline:
			t.Fatalf("Apply never saw %q; calls: %q", want, r.snapshot())
		}
	}
}

// quiet asserts that Apply is not called during d.
func (r *recorder) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	before := len(r.snapshot())
	time.Sleep(d)
	if calls := r.snapshot(); len(calls) != before {
		t.Errorf("Apply called again: %q", calls[before:])
	}
}

// rig is one running Watcher on a file.
type rig struct {
	*recorder
	w    *Watcher
	logs *testutil.LogBuffer
	stop func() error
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// run starts a watcher on path, which holds initial ("" for no file), and
// stops it when the test ends.
func run(t *testing.T, path, initial string, configure func(*Options, *Watcher)) *rig {
	t.Helper()
	r := &rig{recorder: &recorder{seen: make(chan struct{}, 1)}, logs: &testutil.LogBuffer{}}
	if initial != "" {
		r.runs(initial)
	}
	opts := Options{Path: path, Current: r.current, Apply: r.apply, Log: zerolog.New(r.logs)}
	r.w = New(opts)
	if configure != nil {
		configure(&r.w.opts, r.w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.w.Run(ctx) }()
	var once sync.Once
	var err error
	r.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(waitFor):
				err = errors.New("Run did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Error(err)
		}
	})
	return r
}

func configText(n int) string {
	return fmt.Sprintf("# version %d\n[clusters.prod]\nlisten = \"127.0.0.1:7860\"\n", n)
}

// TestAppliesEveryWayToolsWrite: whichever way the file is replaced, the
// new content reaches Apply, and the gaps some tools leave (no file, no
// directory) are never offered as a change.
func TestAppliesEveryWayToolsWrite(t *testing.T) {
	for _, tool := range watchtest.Tools() {
		t.Run(tool.Name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "qcc")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := tool.Setup(t, dir, []byte(configText(1)))
			r := run(t, path, configText(1), nil)

			for n := 2; n <= 3; n++ {
				tool.Write(t, path, []byte(configText(n)))
				r.waitContent(t, configText(n))
			}
			for _, c := range r.snapshot() {
				if c.content == "" || c.content == configText(1) {
					t.Errorf("Apply was offered %q, which is no change", c.content)
				}
			}
		})
	}
}

// TestStormCoalesces: 50 writes within a second make a handful of Apply
// calls, the last of them with the final content.
func TestStormCoalesces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "clusters.toml")
	watchtest.RenameOver(t, path, []byte(configText(0)))
	r := run(t, path, configText(0), nil)

	start := time.Now()
	for n := 1; n <= 50; n++ {
		watchtest.RenameOver(t, path, []byte(configText(n)))
		time.Sleep(time.Until(start.Add(time.Duration(n) * 20 * time.Millisecond)))
	}
	wrote := time.Since(start)
	r.waitContent(t, configText(50))
	r.quiet(t, 3*DefaultDebounce)
	calls := r.snapshot()
	t.Logf("50 writes in %v: %d Apply calls", wrote.Round(time.Millisecond), len(calls))
	// A burst is held back for at most maxDelayFactor debounces, so a
	// storm that a busy machine stretches gets one more call per cap.
	if most := 3 + int(wrote/(maxDelayFactor*DefaultDebounce)); len(calls) > most {
		t.Errorf("%d Apply calls for one burst of writes in %v, want at most %d: %q", len(calls), wrote, most, calls)
	}
}

// TestBusyDirectoryDoesNotStarve: events that never stop (a log file
// beside the config) delay a check by at most the burst cap.
func TestBusyDirectoryDoesNotStarve(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "clusters.toml")
	watchtest.RenameOver(t, path, []byte(configText(0)))
	r := run(t, path, configText(0), nil)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	noise := make(chan struct{})
	go func() {
		defer close(noise)
		tick := time.NewTicker(DefaultDebounce / 4)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				os.WriteFile(filepath.Join(dir, "noise.log"), []byte(fmt.Sprint(n)), 0o600)
			}
		}
	}()
	watchtest.RenameOver(t, path, []byte(configText(1)))
	r.waitContent(t, configText(1)) // fails after waitFor if starved
	cancel()
	<-noise
}

// TestBrokenFileOfferedOnce: Apply rejects a file; touching it, or polling,
// does not offer the same bytes again; the fixed file is applied.
func TestBrokenFileOfferedOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "clusters.toml")
	watchtest.RenameOver(t, path, []byte(configText(0)))
	const broken = "[clusters.prod\n"
	r := run(t, path, configText(0), func(o *Options, _ *Watcher) { o.Poll = 50 * time.Millisecond })
	r.fail = func(content string) error {
		if content == broken {
			return errors.New("TOML syntax")
		}
		return nil
	}

	watchtest.RenameOver(t, path, []byte(broken))
	r.waitContent(t, broken)
	// Same bytes again, by a write and by many polls: nothing new.
	watchtest.TruncateWrite(t, path, []byte(broken))
	r.quiet(t, 3*DefaultDebounce)

	watchtest.RenameOver(t, path, []byte(configText(1)))
	r.waitContent(t, configText(1))
	if calls := r.snapshot(); len(calls) != 2 {
		t.Errorf("Apply calls = %q, want the broken file once and the fixed one once", calls)
	}
}

// TestPollWithoutEvents: on a file system that sends no events, the poll
// notices the change, and says so in the trigger.
func TestPollWithoutEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "clusters.toml")
	watchtest.RenameOver(t, path, []byte(configText(0)))
	r := run(t, path, configText(0), func(o *Options, w *Watcher) {
		o.Poll = 100 * time.Millisecond
		w.events = false
	})

	// The first change may race Run's look at start; the second cannot.
	watchtest.RenameOver(t, path, []byte(configText(1)))
	r.waitContent(t, configText(1))
	watchtest.TruncateWrite(t, path, []byte(configText(2)))
	r.waitContent(t, configText(2))
	if calls := r.snapshot(); len(calls) != 2 || calls[1].trigger != TriggerPoll {
		t.Errorf("calls = %q, want the second with trigger %q", calls, TriggerPoll)
	}
}

// TestNoEventsNoPollNoReload pins that TestPollWithoutEvents can fail:
// without events and without the poll, a change goes unseen.
func TestNoEventsNoPollNoReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "clusters.toml")
	// Run's look at start applies version 1, so Run is past it when
	// version 2 is written.
	watchtest.RenameOver(t, path, []byte(configText(1)))
	r := run(t, path, configText(0), func(_ *Options, w *Watcher) { w.events = false })
	r.waitContent(t, configText(1))
	watchtest.RenameOver(t, path, []byte(configText(2)))
	r.quiet(t, 3*DefaultDebounce)
}

// TestChangeBeforeRunIsApplied: content that changed between the daemon's
// load and the watcher's start is applied at once.
func TestChangeBeforeRunIsApplied(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "clusters.toml")
	watchtest.RenameOver(t, path, []byte(configText(1)))
	r := run(t, path, configText(0), nil)
	r.waitContent(t, configText(1))
}

// TestUnchangedAtStartIsQuiet: a watcher that finds the content the daemon
// runs with does nothing, however long it watches.
func TestUnchangedAtStartIsQuiet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "clusters.toml")
	watchtest.RenameOver(t, path, []byte(configText(0)))
	r := run(t, path, configText(0), func(o *Options, _ *Watcher) { o.Poll = 50 * time.Millisecond })
	r.quiet(t, 3*DefaultDebounce)
}

// TestFileCreatedLater: with no file at start (the embedded default), a
// file created later is applied; deleting it again is not a change.
func TestFileCreatedLater(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "clusters.toml")
	r := run(t, path, "", nil)
	r.quiet(t, 2*DefaultDebounce)

	watchtest.RenameOver(t, path, []byte(configText(1)))
	r.waitContent(t, configText(1))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	r.quiet(t, 3*DefaultDebounce)
	if !strings.Contains(r.logs.String(), "config file is gone") {
		t.Errorf("the missing file is not logged:\n%s", r.logs)
	}
}

// TestDirectoryCreatedLater: with not even the directory at start (no
// /etc/qcc yet), the watcher keeps trying, and a file that appears with its
// directory is applied.
func TestDirectoryCreatedLater(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "qcc")
	path := filepath.Join(dir, "clusters.toml")
	r := run(t, path, "", nil)
	time.Sleep(2 * DefaultDebounce)

	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	watchtest.RenameOver(t, path, []byte(configText(1)))
	r.waitContent(t, configText(1))
	// Watching again after the retries, a later edit is seen too.
	watchtest.RenameOver(t, path, []byte(configText(2)))
	r.waitContent(t, configText(2))
	if logs := r.logs.String(); strings.Contains(logs, `"level":"warn"`) {
		t.Errorf("a directory missing from the start is not a warning:\n%s", logs)
	}
}

// TestSymlinkToFileElsewhere: when the config is a symlink to a file in
// another directory, edits of that file are seen through events, without
// the poll, and so is a retarget of the link.
func TestSymlinkToFileElsewhere(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	etc, srv, srv2 := filepath.Join(root, "etc"), filepath.Join(root, "srv"), filepath.Join(root, "srv2")
	for _, d := range []string{etc, srv, srv2} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(srv, "clusters.toml")
	watchtest.RenameOver(t, target, []byte(configText(0)))
	path := filepath.Join(etc, "clusters.toml")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	r := run(t, path, configText(0), nil)

	watchtest.RenameOver(t, target, []byte(configText(1)))
	r.waitContent(t, configText(1))

	target2 := filepath.Join(srv2, "clusters.toml")
	watchtest.RenameOver(t, target2, []byte(configText(2)))
	tmp := filepath.Join(etc, "link.tmp")
	if err := os.Symlink(target2, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	r.waitContent(t, configText(2))
	// The watch followed the link: an edit in the new directory is seen.
	watchtest.TruncateWrite(t, target2, []byte(configText(3)))
	r.waitContent(t, configText(3))
}

// TestRunReturnsOnlyWhenCancelled: Run keeps going through a lost
// directory, and a restarted Run does not offer the content again.
func TestRunReturnsOnlyWhenCancelled(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "qcc")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "clusters.toml")
	watchtest.RenameOver(t, path, []byte(configText(0)))
	r := run(t, path, configText(0), nil)
	watchtest.RenameOver(t, path, []byte(configText(1)))
	r.waitContent(t, configText(1))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * DefaultDebounce)
	if err := r.stop(); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if !strings.Contains(r.logs.String(), "watch lost") {
		t.Errorf("the lost watch is not logged:\n%s", r.logs)
	}

	// Same Watcher, run again, as the supervisor would after a panic.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	watchtest.RenameOver(t, path, []byte(configText(1)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	before := len(r.snapshot())
	go func() { done <- r.w.Run(ctx) }()
	r.quiet(t, 3*DefaultDebounce)
	select {
	case err := <-done:
		t.Fatalf("Run returned before its context ended: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if n := len(r.snapshot()); n != before {
		t.Errorf("the restarted watcher offered known content again")
	}
}

// TestAppliedBySIGHUPFirst: an edit that a SIGHUP applied before the
// debounce ran out is not applied a second time.
func TestAppliedBySIGHUPFirst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "clusters.toml")
	// Run's look at start applies version 1, so Run is past it when
	// version 2 is written.
	watchtest.RenameOver(t, path, []byte(configText(1)))
	r := run(t, path, configText(0), func(o *Options, _ *Watcher) { o.Poll = 50 * time.Millisecond })
	r.waitContent(t, configText(1))

	watchtest.RenameOver(t, path, []byte(configText(2)))
	r.runs(configText(2))
	r.quiet(t, 3*DefaultDebounce)

	// And the watcher still acts on the edit after it.
	watchtest.RenameOver(t, path, []byte(configText(3)))
	r.waitContent(t, configText(3))
}
