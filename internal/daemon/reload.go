package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
)

// ReloadResult is the outcome of the last reload, for status and metrics.
type ReloadResult struct {
	At  time.Time
	OK  bool
	Err string // first problem, when it failed
}

// reloadOnSignal applies a reload for each SIGHUP.
func (d *Daemon) reloadOnSignal(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.opts.Reload:
			_ = d.Reload("SIGHUP")
		}
	}
}

// Reload re-reads the config and applies it. Whatever goes wrong (a file
// that does not parse, a secret that is missing, an address that cannot be
// bound) leaves the running config untouched and is returned; systemd hears
// READY=1 either way, with the failure in STATUS.
func (d *Daemon) Reload(trigger string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notifyErr(d.opts.Notifier.Reloading())
	start := time.Now()
	err := d.apply()
	d.lastReload = ReloadResult{At: start, OK: err == nil}
	if err != nil {
		d.lastReload.Err = firstLine(err)
		var cerr *config.Error
		if errors.As(err, &cerr) {
			for _, p := range cerr.Problems {
				d.log.Error().Str("trigger", trigger).Msg("config problem: " + p.String())
			}
		}
		d.log.Error().Str("trigger", trigger).Err(err).Msg("reload rejected, keeping the running config")
		d.notifyErr(d.opts.Notifier.ReadyStatus("reload failed: " + d.lastReload.Err))
		return err
	}
	d.log.Info().Str("trigger", trigger).Str("config", d.snap.Load().Config.Source).
		Dur("took", time.Since(start)).Str("status", d.summary()).Msg("config reloaded")
	d.notifyErr(d.opts.Notifier.ReadyStatus(d.summary()))
	return nil
}

// LastReload returns the outcome of the last reload; zero before any.
func (d *Daemon) LastReload() ReloadResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastReload
}

// apply loads the config and swaps it in. Order matters: every new socket
// is bound before anything changes, so a port that cannot be had rejects
// the whole reload; then the snapshot swaps, new listeners start, and the
// listeners of removed or moved clusters drain in the background on the
// snapshot their requests started with.
func (d *Daemon) apply() error {
	cfg, err := LoadConfig(d.opts.ConfigPath, d.opts.Explicit)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		d.log.Warn().Msg(w.String())
	}

	fresh := map[string]*listener{}
	for _, c := range cfg.Clusters {
		if l, ok := d.listeners[c.Name]; ok && l.addr == c.Listen {
			continue
		}
		ln, err := d.sockets.listen(c)
		if err != nil {
			for _, l := range fresh {
				l.ln.Close()
			}
			return fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		fresh[c.Name] = &listener{cluster: c.Name, addr: c.Listen, ln: ln}
	}

	snap, err := d.registry.Build(cfg, time.Now())
	if err != nil {
		for _, l := range fresh {
			l.ln.Close()
		}
		return err
	}
	d.snap.Store(snap)

	var retired []*listener
	for name, l := range d.listeners {
		if c := snap.Cluster(name); c == nil || fresh[name] != nil {
			retired = append(retired, l)
			delete(d.listeners, name)
		}
	}
	for _, c := range cfg.Clusters {
		f := fresh[c.Name]
		if f == nil {
			continue
		}
		l := d.newListener(c, f.ln)
		stop, err := d.sup.Start("listener/"+c.Name+"@"+c.Listen, l.run)
		if err != nil {
			l.ln.Close()
			return err
		}
		l.stop = stop
		d.listeners[c.Name] = l
		d.log.Info().Str("cluster", c.Name).Str("listen", c.Listen).Msg("listener started")
	}
	for _, l := range retired {
		d.log.Info().Str("cluster", l.cluster).Str("listen", l.addr).Msg("listener retired")
		d.retiring.Go(l.stop)
	}
	return nil
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " (and more)"
	}
	return s
}
