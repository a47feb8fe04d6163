// Package watch notices when the config file's content changes and hands
// each change, once, to the daemon's reload path.
//
// File system events are only hints. Editors replace files by rename, vim
// renames the original away first, Kubernetes swaps a symlink two levels
// up, and some file systems send nothing at all; so the watcher watches the
// file's directory, waits for a burst of events to settle, and then reads
// the file and compares its SHA-256 with the content it last acted on. A
// slow content poll catches what events miss.
package watch

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

// Defaults applied by New to zero-valued Options.
const (
	DefaultDebounce = 200 * time.Millisecond
)

// The triggers Apply is called with.
const (
	TriggerFileChange = "file change"
	TriggerPoll       = "file change (poll)"
)

const (
	// maxDelayFactor bounds how long a burst of events may postpone a
	// check, in debounce periods: a directory that never falls quiet (a log
	// file beside the config) must not starve the reload.
	maxDelayFactor = 10
	// retryMin and retryMax bound the backoff between attempts to watch the
	// directory again after the watch was lost.
	retryMin = 100 * time.Millisecond
	retryMax = 10 * time.Second
)

// Options configures a Watcher.
type Options struct {
	// Path is the config file. It need not exist yet; a symlink is
	// followed each time the file is read.
	Path string
	// Current returns the hex SHA-256 of the file content the daemon runs
	// with, or "" when it runs without the file (the embedded default).
	// Content equal to it is not applied: it is what runs already, whether
	// from the start or because a SIGHUP got there first.
	Current func() string
	// Apply reloads the config from content, the file's bytes as they were
	// read and hashed, so that what is parsed is exactly what was compared;
	// trigger says why. It is called from Run's goroutine, one call at a
	// time, once per distinct content: a file that Apply rejects is not
	// offered again until its content changes.
	Apply func(trigger string, content []byte) error
	// Debounce is how long the directory must be quiet after an event
	// before the file is read. Default DefaultDebounce.
	Debounce time.Duration
	// Poll is the interval of the content poll; 0 turns it off.
	Poll time.Duration
	Log  zerolog.Logger
}

// Watcher turns changes of one file into calls of Options.Apply. Create it
// with New and run it with Run.
type Watcher struct {
	opts Options
	// events is false only in tests that play a file system without
	// inotify, where only the poll sees changes.
	events bool

	// Owned by Run's goroutine; kept across Runs so that a restarted
	// watcher does not apply the same content again.
	content content
	// watchedOnce is set once a directory watch has worked, so that a
	// directory missing at start (no /etc/qcc yet) is not reported as a
	// lost watch.
	watchedOnce bool
}

// New returns a Watcher for opts.
func New(opts Options) *Watcher {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if abs, err := filepath.Abs(opts.Path); err == nil {
		opts.Path = abs
	}
	if opts.Current == nil {
		opts.Current = func() string { return "" }
	}
	return &Watcher{
		opts:   opts,
		events: true,
		// missing starts true: "gone" is news only about a file that was
		// there.
		content: content{path: opts.Path, current: opts.Current, missing: true, log: opts.Log},
	}
}

// Run watches until ctx ends and returns nil then; it does not return
// before. Nothing that goes wrong with the watch stops it: a lost or failed
// watch is set up again with backoff while the file is checked on every
// attempt. Run must not be called concurrently with itself.
func (w *Watcher) Run(ctx context.Context) error {
	log := w.opts.Log
	var ws *watchSet
	defer func() { ws.close() }()

	// debounce fires when a burst of hints has settled; pending is when the
	// burst began, zero when there is none, and trigger what began it.
	// Every check goes through it, the poll's included: a file written in
	// place is read once the writing has stopped, not halfway.
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	var pending time.Time
	var trigger string
	hint := func(why string) {
		now := time.Now()
		if pending.IsZero() {
			pending, trigger = now, why
		}
		d := w.opts.Debounce
		if left := pending.Add(maxDelayFactor * w.opts.Debounce).Sub(now); left < d {
			d = max(left, 0)
		}
		debounce.Reset(d)
	}

	// retry fires the next attempt to watch again; backoff is its last
	// delay, and broken says the watch has failed since it last worked.
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	var backoff time.Duration
	broken := false

	var poll <-chan time.Time
	if w.opts.Poll > 0 {
		t := time.NewTicker(w.opts.Poll)
		defer t.Stop()
		poll = t.C
	}

	// open (re)establishes the watch; on failure it schedules the next try.
	open := func() {
		ws.close()
		ws = nil
		if !w.events {
			return
		}
		dirs := watchDirs(w.opts.Path)
		s, err := openWatchSet(dirs)
		if err != nil {
			if !broken {
				// Once per outage: a directory that stays away must not
				// fill the journal. No /etc/qcc at start is normal for
				// the embedded default, so that is only news.
				ev := log.Warn()
				if !w.watchedOnce {
					ev = log.Info()
				}
				ev.Err(err).Strs("dirs", dirs).
					Msg("cannot watch the config directory; checking the file on every retry meanwhile")
			}
			broken = true
			backoff = nextBackoff(backoff)
			retry.Reset(backoff)
			return
		}
		if broken && w.watchedOnce {
			log.Info().Strs("dirs", dirs).Msg("watching the config directory again")
		}
		ws, backoff, broken, w.watchedOnce = s, 0, false, true
		retry.Stop()
	}
	// lose drops a broken watch and retries soon.
	lose := func(why string, err error) {
		log.Warn().Err(err).Str("reason", why).Msg("config directory watch lost; watching again with backoff")
		ws.close()
		ws = nil
		backoff, broken = 0, true
		retry.Reset(retryMin)
	}

	open()
	// Events between the daemon's load and the watch are lost; look once.
	hint(TriggerFileChange)

	for {
		select {
		case <-ctx.Done():
			return nil

		case ev, ok := <-ws.events():
			if !ok {
				lose("event channel closed", nil)
				continue
			}
			if ws.lost(ev) {
				// The directory itself was removed or renamed: the watch
				// is gone with it, and the file may be too.
				lose("directory "+ev.Op.String(), nil)
			}
			hint(TriggerFileChange)

		case err, ok := <-ws.errors():
			switch {
			case !ok:
				lose("error channel closed", nil)
			case errors.Is(err, fsnotify.ErrEventOverflow):
				// Events were dropped, so any of them may have been the
				// one that mattered; the watch itself still works.
				log.Warn().Msg("config directory events overflowed; checking the file")
			default:
				lose("watch error", err)
			}
			hint(TriggerFileChange)

		case <-debounce.C:
			pending = time.Time{}
			// A symlink swap may have moved the file to another directory.
			// Watch that first and read after, so that no write falls
			// between the read and the new watch.
			if ws != nil && !ws.current(watchDirs(w.opts.Path)) {
				open()
			}
			w.content.check(w.opts.Apply, trigger)

		case <-retry.C:
			// Whether or not the watch is back, look: this is the poll
			// while there are no events.
			open()
			hint(TriggerFileChange)

		case <-poll:
			if ws != nil && !ws.current(watchDirs(w.opts.Path)) {
				// A directory replaced behind our back (or a lost
				// overflow) leaves a watch that will never fire.
				log.Info().Msg("config directory changed under the watch; watching it again")
				open()
			}
			hint(TriggerPoll)
		}
	}
}

// nextBackoff doubles prev from retryMin up to retryMax.
func nextBackoff(prev time.Duration) time.Duration {
	if prev <= 0 {
		return retryMin
	}
	return min(2*prev, retryMax)
}
