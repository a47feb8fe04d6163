package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/supervise"
	"github.com/qcc-dev/qcc/internal/watch"
)

// ReloadResult is the outcome of the last reload, for status and metrics.
type ReloadResult struct {
	At      time.Time
	Trigger string // what asked for it: "SIGHUP", "file change", ...
	OK      bool
	Err     string        // first problem, when it failed
	Took    time.Duration // from the request to the new snapshot (or the rejection)
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

// Reload re-reads the config and applies it, unconditionally: secrets
// behind env:, file: and credential: are resolved anew even when
// clusters.toml itself did not change. trigger names the cause in the log
// and in LastReload. Whatever goes wrong (a file that does not parse, a
// secret that is missing, an address that cannot be bound) leaves the
// running config untouched and is returned; systemd hears READY=1 either
// way, with the failure in STATUS.
//
// Reload is the one reload path: SIGHUP, the admin API and the file
// watcher all come through here.
func (d *Daemon) Reload(trigger string) error {
	return d.reload(trigger, func() (*config.Config, error) {
		return LoadConfig(d.opts.ConfigPath, d.opts.Explicit)
	})
}

// reloadContent is Reload for the file watcher, with the file's content as
// the watcher read and hashed it, so that the bytes compared are the bytes
// parsed even if the file changes again meanwhile.
func (d *Daemon) reloadContent(trigger string, content []byte) error {
	return d.reload(trigger, func() (*config.Config, error) {
		return parseContent(configPath(d.opts.ConfigPath), content)
	})
}

// reload applies the config load returns.
func (d *Daemon) reload(trigger string, load func() (*config.Config, error)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notifyErr(d.opts.Notifier.Reloading())
	start := time.Now()
	err := d.apply(load)
	d.lastReload = ReloadResult{At: start, Trigger: trigger, OK: err == nil, Took: time.Since(start)}
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
		Str("sha256", d.snap.Load().Config.SHA256).
		Dur("took", d.lastReload.Took).Str("status", d.summary()).Msg("config reloaded")
	d.notifyErr(d.opts.Notifier.ReadyStatus(d.summary()))
	return nil
}

// LastReload returns the outcome of the last reload; zero before any.
func (d *Daemon) LastReload() ReloadResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastReload
}

// apply loads the config and swaps it in. Order
// matters: everything that can fail (parsing, secrets, binding every new
// socket, building the snapshot) happens before anything changes, so a
// failure rejects the whole reload; then the snapshot swaps, new listeners
// start, and the listeners of removed or moved clusters drain in the
// background on the snapshot their requests started with.
func (d *Daemon) apply(load func() (*config.Config, error)) error {
	cfg, err := load()
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		d.log.Warn().Msg(w.String())
	}
	old := d.snap.Load().Config.Daemon
	if cfg.Daemon.Watch != old.Watch || cfg.Daemon.PollInterval != old.PollInterval {
		d.log.Warn().Msg("[daemon] watch and poll_interval take effect at the next start")
	}

	fresh := map[string]*listener{}
	for _, c := range cfg.Clusters {
		if l, ok := d.listeners[c.Name]; ok && l.addr == c.Listen {
			continue
		}
		ln, err := d.bindFor(c)
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
	// The new config is live. What follows cannot fail it: a listener that
	// does not start is only possible while the daemon shuts down.

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
		if err := d.startListener(l); err != nil {
			l.ln.Close()
			d.log.Warn().Err(err).Str("cluster", c.Name).Str("listen", c.Listen).Msg("listener not started")
			continue
		}
		d.listeners[c.Name] = l
		d.log.Info().Str("cluster", c.Name).Str("listen", c.Listen).Msg("listener started")
	}
	for _, l := range retired {
		d.log.Info().Str("cluster", l.cluster).Str("listen", l.addr).Msg("listener retired")
		if d.draining == nil {
			d.draining = map[string]int{}
		}
		d.draining[l.addr]++
		d.retiring.Go(func() {
			l.stop()
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.draining[l.addr]--; d.draining[l.addr] == 0 {
				delete(d.draining, l.addr)
			}
		})
	}
	return nil
}

// rebindWait bounds how long a reload waits for a draining listener to let
// go of the address a cluster wants back.
const rebindWait = time.Second

// bindFor returns the socket for cluster c. A listener that an earlier
// reload retired closes its socket as soon as it starts draining, which is
// a matter of moments; an address such a listener still holds is retried
// for that long rather than rejecting a reload that moves a cluster back.
func (d *Daemon) bindFor(c config.Cluster) (net.Listener, error) {
	deadline := time.Now().Add(rebindWait)
	for {
		ln, err := d.sockets.listen(c)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || d.draining[c.Listen] == 0 || time.Now().After(deadline) {
			return ln, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startListener runs l under the supervisor. A cluster that moves back to
// an address it left moments ago finds its old listener still draining
// under the same component name; the new one runs beside it under a
// numbered name rather than failing the reload.
func (d *Daemon) startListener(l *listener) error {
	name := "listener/" + l.cluster + "@" + l.addr
	for n := 2; ; n++ {
		stop, err := d.sup.Start(name, l.run)
		if errors.Is(err, supervise.ErrNameTaken) {
			name = "listener/" + l.cluster + "@" + l.addr + "#" + strconv.Itoa(n)
			continue
		}
		if err != nil {
			return err
		}
		l.stop = stop
		return nil
	}
}

// configPath is the path qccd reads its config from.
func configPath(path string) string {
	if path == "" {
		return config.DefaultPath
	}
	return path
}

// parseContent parses content as the config file at path. The file's mode
// is looked up for the warning about literal keys in a file others can
// read; that it may belong to a newer version of the file is harmless.
func parseContent(path string, content []byte) (*config.Config, error) {
	var opts config.Options
	if info, err := os.Stat(path); err == nil {
		opts.FileMode = info.Mode().Perm()
	}
	return config.Parse(path, content, opts)
}

// newWatcher returns the config watcher [daemon] asks for, or nil when
// watch is off. Without a file (the embedded default) it watches for one
// to appear at the default path.
func (d *Daemon) newWatcher(cfg *config.Config) *watch.Watcher {
	if !cfg.Daemon.Watch {
		return nil
	}
	return watch.New(watch.Options{
		Path: configPath(d.opts.ConfigPath),
		Current: func() string {
			if c := d.snap.Load().Config; c.Path != "" {
				return c.SHA256
			}
			return ""
		},
		Apply: d.reloadContent,
		Poll:  cfg.Daemon.PollInterval,
		Log:   d.log.With().Str("component", "config-watch").Logger(),
	})
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " (and more)"
	}
	return s
}
