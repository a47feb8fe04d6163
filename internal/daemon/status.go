package daemon

import (
	"context"
	"fmt"
	"time"
)

// statusEvery is how often the systemd STATUS line is refreshed.
const statusEvery = 5 * time.Second

// summary is the one-line STATUS systemctl status shows, e.g.
// "2 clusters, 5/6 endpoints available".
func (d *Daemon) summary() string {
	snap := d.snap.Load()
	total, up := 0, 0
	for _, c := range snap.Clusters {
		total += len(c.Endpoints)
		up += c.Available()
	}
	return fmt.Sprintf("%d %s, %d/%d endpoints available", len(snap.Clusters), plural(len(snap.Clusters), "cluster"), up, total)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// reportStatus keeps systemd's STATUS current as endpoints come and go.
func (d *Daemon) reportStatus(ctx context.Context) error {
	t := time.NewTicker(statusEvery)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if s := d.summary(); s != last {
			last = s
			d.notifyErr(d.opts.Notifier.Status(s))
		}
	}
}
