package daemon

import (
	"time"

	"github.com/qcc-dev/qcc/internal/admin"
	"github.com/qcc-dev/qcc/internal/buildinfo"
	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/config"
	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// startAdmin binds the admin API where [daemon] says and hands it to the
// supervisor; it runs after the stats collector, the metrics and the health
// scheduler are built, since the API serves them. A socket that cannot be
// had does not stop qccd: serving requests matters more than being
// watched, so the error is logged and the supervisor keeps trying with
// backoff. The addresses are read once, at start; moving them takes a
// restart.
func (d *Daemon) startAdmin(cfg *config.Config) {
	dm := cfg.Daemon
	if dm.AdminSocket == "" && dm.AdminListen == "" {
		d.log.Info().Msg("admin API off: admin_socket and admin_listen are empty")
		return
	}
	h := admin.NewHandler(admin.Options{
		Daemon:  &adminBackend{d: d, started: time.Now()},
		Stats:   admin.StatsFunc(d.Stats),
		Metrics: d.MetricsHandler(),
		Prober:  d.Prober(),
		Version: buildinfo.Version(),
		Log:     d.log,
	})
	srv := admin.NewServer(h, admin.ServerOptions{
		Socket: dm.AdminSocket,
		Listen: dm.AdminListen,
		Token:  dm.AdminToken,
		Log:    d.log,
	})
	if err := srv.Listen(); err != nil {
		d.log.Error().Err(err).Msg("admin API unavailable, will retry")
	} else {
		d.log.Info().Str("socket", dm.AdminSocket).Str("listen", srv.TCPAddr()).Msg("admin API listening")
		if d.opts.AdminListening != nil {
			d.opts.AdminListening(dm.AdminSocket, srv.TCPAddr())
		}
	}
	d.sup.Add("admin", srv.Run)
}

// adminBackend is the daemon as the admin API sees it.
type adminBackend struct {
	d       *Daemon
	started time.Time
}

func (b *adminBackend) Snapshot() *cluster.Snapshot { return b.d.Snapshot() }

func (b *adminBackend) Reload(trigger string) error { return b.d.Reload(trigger) }

func (b *adminBackend) LastReload() *adminapi.Reload {
	r := b.d.LastReload()
	if r.At.IsZero() {
		return nil
	}
	return &adminapi.Reload{At: r.At, Trigger: r.Trigger, OK: r.OK, Error: r.Err}
}

func (b *adminBackend) Ready() bool { return b.d.ready.Load() }

func (b *adminBackend) StartedAt() time.Time { return b.started }
