// Package daemon wires qccd together: it loads the config, builds the
// runtime snapshot, binds one listener per cluster, runs every component
// under the supervisor and keeps systemd informed.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/internal/health"
	"github.com/qcc-dev/qcc/internal/metrics"
	"github.com/qcc-dev/qcc/internal/proxy"
	"github.com/qcc-dev/qcc/internal/sdnotify"
	"github.com/qcc-dev/qcc/internal/stats"
	"github.com/qcc-dev/qcc/internal/supervise"
)

// Options configures the daemon.
type Options struct {
	// ConfigPath is the clusters.toml to load. When it is the default path
	// and Explicit is false, a missing file selects the embedded default.
	ConfigPath string
	Explicit   bool
	// LogLevel, when set, overrides [daemon] log_level.
	LogLevel string
	Log      zerolog.Logger
	Notifier *sdnotify.Notifier
	// Reload delivers reload requests (SIGHUP); nil disables them.
	Reload <-chan os.Signal
	// Ready, when set, is called once every listener is bound and READY=1
	// went out; tests use it to learn the bound addresses.
	Ready func(addrs map[string]string)
	// Started, when set, is called with the running daemon right after
	// Ready; tests use it to inspect the snapshot and to call Reload.
	Started func(*Daemon)
	// AdminListening, when set, is called with the admin socket's path and
	// the admin TCP address once they are bound at start (admin.go).
	AdminListening func(socket, tcp string)
	// StateDir, when set, overrides [daemon] state_dir (stats.go).
	StateDir string
}

// Daemon is one running qccd.
type Daemon struct {
	opts     Options
	log      zerolog.Logger
	registry *cluster.Registry
	snap     atomic.Pointer[cluster.Snapshot]
	sup      *supervise.Supervisor

	mu         sync.Mutex // serialises reloads and guards listeners and lastReload
	listeners  map[string]*listener
	lastReload ReloadResult
	retiring   sync.WaitGroup   // listeners draining after a reload removed them
	draining   map[string]int   // addresses of those listeners, with counts (reload.go)
	sockets    *sockets         // listening sockets systemd passed in (activation.go)
	ready      atomic.Bool      // READY=1 went out and STOPPING=1 did not: /readyz
	collector  *stats.Collector // stats.go
	metrics    *metrics.Metrics // stats.go

	health *health.Scheduler // health.go: checks, scores, probes on demand
}

// LoadConfig loads the config as qccd would at start: the file at path, or
// the embedded default when path is the default path, was not given
// explicitly and does not exist.
func LoadConfig(path string, explicit bool) (*config.Config, error) {
	if path == "" {
		path = config.DefaultPath
	}
	cfg, err := config.Load(path)
	if err != nil && !explicit && errors.Is(err, os.ErrNotExist) {
		return config.Default(os.LookupEnv), nil
	}
	return cfg, err
}

// Run starts qccd and blocks until ctx ends and everything has drained. It
// returns an error when the daemon could not start: a config that does not
// load, or a listener that cannot bind.
func Run(ctx context.Context, opts Options) error {
	cfg, err := LoadConfig(opts.ConfigPath, opts.Explicit)
	if err != nil {
		return err
	}
	d := &Daemon{opts: opts, log: opts.Log, listeners: map[string]*listener{}}
	if err := d.setLevel(cfg); err != nil {
		return err
	}
	d.registry = cluster.NewRegistry(d.logTransition)
	for _, w := range cfg.Warnings {
		d.log.Warn().Msg(w.String())
	}
	d.log.Info().Str("config", cfg.Source).Int("clusters", len(cfg.Clusters)).Msg("config loaded")

	snap, err := d.registry.Build(cfg, time.Now())
	if err != nil {
		return err
	}
	d.snap.Store(snap)
	d.newStats(cfg)
	d.newHealth()
	d.sockets = inheritSockets(d.log)
	for _, c := range cfg.Clusters {
		ln, err := d.sockets.listen(c)
		if err != nil {
			d.closeListeners()
			return fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		d.listeners[c.Name] = d.newListener(c, ln)
	}
	d.sockets.warnUnused()

	d.sup = supervise.New(d.log, supervise.Options{
		Heartbeat:         d.watchdog,
		HeartbeatInterval: opts.Notifier.WatchdogInterval(),
	})
	for name, l := range d.listeners {
		stop, err := d.sup.Start("listener/"+name+"@"+l.addr, l.run)
		if err != nil {
			return err
		}
		l.stop = stop
	}
	d.sup.Add("status", d.reportStatus)
	d.sup.Add("stats", d.collector.Run)
	d.startAdmin(cfg)
	if opts.Reload != nil {
		d.sup.Add("reload-signal", d.reloadOnSignal)
	}
	if w := d.newWatcher(cfg); w != nil {
		d.sup.Add("config-watch", w.Run) // reload.go
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.sup.Run(runCtx) }()

	d.notifyErr(opts.Notifier.ReadyStatus(d.summary()))
	d.ready.Store(true)
	d.startHealth()
	d.log.Info().Str("status", d.summary()).Msg("qccd ready")
	if opts.Ready != nil {
		opts.Ready(d.addrs())
	}
	if opts.Started != nil {
		opts.Started(d)
	}

	select {
	case <-ctx.Done():
	case err := <-done:
		return err
	}
	d.ready.Store(false)
	d.notifyErr(opts.Notifier.Stopping())
	d.log.Info().Msg("stopping: draining in-flight requests")
	cancel()
	err = <-done
	d.retiring.Wait()
	d.collector.Flush() // what finished while the listeners drained
	return err
}

// Snapshot returns the current runtime snapshot.
func (d *Daemon) Snapshot() *cluster.Snapshot { return d.snap.Load() }

func (d *Daemon) newListener(c config.Cluster, ln net.Listener) *listener {
	return &listener{
		cluster: c.Name,
		addr:    c.Listen,
		ln:      ln,
		handler: proxy.New(proxy.Options{Cluster: c.Name, Snapshot: d.Snapshot, Log: d.log, OnRecord: d.collector.OnRecord}),
		drain:   d.snap.Load().Config.Daemon.DrainTimeout,
		log:     d.log,
	}
}

// addrs returns each cluster's bound address.
func (d *Daemon) addrs() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]string, len(d.listeners))
	for name, l := range d.listeners {
		if l.ln != nil {
			out[name] = l.ln.Addr().String()
		}
	}
	return out
}

func (d *Daemon) closeListeners() {
	for _, l := range d.listeners {
		if l.ln != nil {
			l.ln.Close()
		}
	}
}

// logTransition is the one place endpoint state changes are logged.
func (d *Daemon) logTransition(clusterName, name string, t endpoint.Transition) {
	e := d.log.Warn().Str("cluster", clusterName).Str("endpoint", name).
		Str("from", t.From.String()).Str("to", t.To.String()).Str("reason", t.Reason)
	if !t.Until.IsZero() {
		e = e.Time("until", t.Until)
	}
	e.Msg("endpoint state changed")
}

func (d *Daemon) notifyErr(err error) {
	if err != nil {
		d.log.Warn().Err(err).Msg("systemd notification failed")
	}
}

func (d *Daemon) watchdog() { d.notifyErr(d.opts.Notifier.Watchdog()) }

// setLevel applies the log level: the command line's, else the config's.
func (d *Daemon) setLevel(cfg *config.Config) error {
	name := d.opts.LogLevel
	if name == "" {
		name = cfg.Daemon.LogLevel
	}
	if name == "" {
		return nil
	}
	lvl, err := zerolog.ParseLevel(name)
	if err != nil {
		return fmt.Errorf("log level %q: %w", name, err)
	}
	d.log = d.opts.Log.Level(lvl)
	return nil
}
