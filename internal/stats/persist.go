package stats

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/qcc-dev/qcc/internal/sse"
)

// StateFile is the name of the totals' file in the state directory.
const StateFile = "stats.json"

// stateVersion is the state file's format; a file of another version is
// set aside like a corrupt one, so a downgrade never misreads it.
const stateVersion = 1

// state is the state file: the totals of every series.
type state struct {
	Version   int           `json:"version"`
	Since     time.Time     `json:"since"`
	SavedAt   time.Time     `json:"saved_at"`
	Histogram string        `json:"histogram"`
	Series    []savedSeries `json:"series"`
}

type savedSeries struct {
	Cluster      string           `json:"cluster"`
	Endpoint     string           `json:"endpoint,omitempty"`
	Requests     int64            `json:"requests"`
	ByClass      map[string]int64 `json:"by_class,omitempty"`
	ByCode       map[string]int64 `json:"by_code,omitempty"`
	Attempts     int64            `json:"attempts"`
	Failovers    int64            `json:"failovers"`
	StreamErrors int64            `json:"stream_errors"`
	Tokens       savedTokens      `json:"tokens"`
	TTFB         []int64          `json:"ttfb_buckets,omitempty"`
	Duration     []int64          `json:"duration_buckets,omitempty"`
}

type savedTokens struct {
	Input         int64 `json:"input"`
	Output        int64 `json:"output"`
	CacheRead     int64 `json:"cache_read"`
	CacheCreation int64 `json:"cache_creation"`
}

func (c *Collector) statePath() string { return filepath.Join(c.opts.StateDir, StateFile) }

// load reads the saved totals. A missing file is a first start; a file
// that cannot be read as totals is logged and moved aside, and the stats
// start afresh: losing history must never keep the daemon from starting.
func (c *Collector) load() {
	if c.opts.StateDir == "" {
		return
	}
	path := c.statePath()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		c.opts.Log.Info().Str("path", path).Msg("no saved stats, counting from now")
		return
	}
	if err != nil {
		c.opts.Log.Error().Err(err).Str("path", path).Msg("cannot read saved stats, counting from now")
		return
	}
	st, err := decodeState(b)
	if err != nil {
		aside := fmt.Sprintf("%s.corrupt-%s", path, c.opts.Now().UTC().Format("20060102T150405Z"))
		ev := c.opts.Log.Error().Str("path", path).Str("reason", err.Error())
		if rerr := os.Rename(path, aside); rerr != nil {
			ev.AnErr("rename_error", rerr).Msg("saved stats are corrupt and could not be moved aside; counting from now")
		} else {
			ev.Str("moved_to", aside).Msg("saved stats are corrupt, moved aside; counting from now")
		}
		return
	}
	if st.Histogram != histScheme {
		c.opts.Log.Warn().Str("path", path).Msg("saved latency histograms use other buckets; keeping the counts, dropping the histograms")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.since = st.Since
	var requests int64
	for _, s := range st.Series {
		t := &c.get(key{s.Cluster, s.Endpoint}).total
		restore(t, &s, st.Histogram == histScheme)
		if s.Endpoint == "" {
			requests += s.Requests
		}
	}
	c.opts.Log.Info().Str("path", path).Time("since", st.Since).Int64("requests", requests).Msg("saved stats loaded")
}

// decodeState parses and checks a state file.
func decodeState(b []byte) (*state, error) {
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("version %d, want %d", st.Version, stateVersion)
	}
	if st.Since.IsZero() {
		return nil, errors.New("no start time")
	}
	for i, s := range st.Series {
		if err := s.check(); err != nil {
			return nil, fmt.Errorf("series %d: %w", i, err)
		}
	}
	return &st, nil
}

func (s *savedSeries) check() error {
	if s.Cluster == "" {
		return errors.New("no cluster")
	}
	counts := []int64{s.Requests, s.Attempts, s.Failovers, s.StreamErrors,
		s.Tokens.Input, s.Tokens.Output, s.Tokens.CacheRead, s.Tokens.CacheCreation}
	for _, n := range s.ByClass {
		counts = append(counts, n)
	}
	for _, n := range s.ByCode {
		counts = append(counts, n)
	}
	counts = append(append(counts, s.TTFB...), s.Duration...)
	for _, n := range counts {
		if n < 0 {
			return errors.New("negative count")
		}
	}
	for name := range s.ByClass {
		if classIndex(name) < 0 {
			return fmt.Errorf("unknown class %q", name)
		}
	}
	for code := range s.ByCode {
		if _, err := strconv.Atoi(code); err != nil {
			return fmt.Errorf("status code %q", code)
		}
	}
	return nil
}

func classIndex(name string) int {
	for i, n := range classNames {
		if n == name {
			return i
		}
	}
	return -1
}

// restore fills t from a checked saved series.
func restore(t *counts, s *savedSeries, hists bool) {
	t.requests += s.Requests
	for name, n := range s.ByClass {
		t.byClass[classIndex(name)] += n
	}
	for code, n := range s.ByCode {
		if t.byCode == nil {
			t.byCode = map[int]int64{}
		}
		c, _ := strconv.Atoi(code)
		t.byCode[c] += n
	}
	t.attempts += s.Attempts
	t.failovers += s.Failovers
	t.streamErrors += s.StreamErrors
	t.tokens = t.tokens.Add(sse.Usage{Input: s.Tokens.Input, Output: s.Tokens.Output,
		CacheRead: s.Tokens.CacheRead, CacheCreation: s.Tokens.CacheCreation})
	if hists && len(s.TTFB) == histBuckets && len(s.Duration) == histBuckets {
		for i := range histBuckets {
			t.ttfb[i] += s.TTFB[i]
			t.duration[i] += s.Duration[i]
		}
	}
}

// snapshotState copies the totals for saving; c.mu must be held.
func (c *Collector) snapshotState() *state {
	st := &state{Version: stateVersion, Since: c.since, SavedAt: c.opts.Now(), Histogram: histScheme}
	for k, s := range c.series {
		t := &s.total
		sum := t.summary()
		st.Series = append(st.Series, savedSeries{
			Cluster:      k.Cluster,
			Endpoint:     k.Endpoint,
			Requests:     t.requests,
			ByClass:      sum.ByClass,
			ByCode:       sum.ByCode,
			Attempts:     t.attempts,
			Failovers:    t.failovers,
			StreamErrors: t.streamErrors,
			Tokens: savedTokens{Input: t.tokens.Input, Output: t.tokens.Output,
				CacheRead: t.tokens.CacheRead, CacheCreation: t.tokens.CacheCreation},
			TTFB:     t.ttfb[:],
			Duration: t.duration[:],
		})
	}
	return st
}

// save writes the totals if they changed since the last save. Failures are
// logged once, and again only when the reason changes, so a read-only
// state directory gives one line, not one every half minute.
func (c *Collector) save() {
	if c.opts.StateDir == "" || !c.loaded {
		return
	}
	c.mu.Lock()
	if !c.dirty {
		c.mu.Unlock()
		return
	}
	st := c.snapshotState()
	b, err := json.Marshal(st)
	c.dirty = false
	c.mu.Unlock()
	if err == nil {
		err = writeFileAtomic(c.opts.StateDir, StateFile, b)
	}
	switch {
	case err != nil:
		c.mu.Lock()
		c.dirty = true // try again next time
		c.mu.Unlock()
		if msg := err.Error(); msg != c.saveErr {
			c.saveErr = msg
			c.opts.Log.Error().Err(err).Str("path", c.statePath()).Msg("cannot save stats; totals will not survive a restart until this is fixed")
		}
	case c.saveErr != "":
		c.saveErr = ""
		c.opts.Log.Info().Str("path", c.statePath()).Msg("stats saved again")
	}
}

// writeFileAtomic replaces dir/name with b so that a crash at any point
// leaves either the old file or the new one, whole: write a temporary
// file, sync it, rename it over the old one, sync the directory.
func writeFileAtomic(dir, name string, b []byte) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
