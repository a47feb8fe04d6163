package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// statsCommand is `qcc stats [--window 5m]`.
func statsCommand() *command {
	return &command{
		name:    "stats",
		summary: "Show requests, errors, latency and tokens per cluster and endpoint",
		help: "Stats shows what qccd served over a window: 1m, 5m, 1h, or total for\n" +
			"everything since its stats began (they survive restarts). Errors are answers\n" +
			"the gateway could not give: 5xx, 429 when every endpoint was limited, and\n" +
			"streams that broke. Tokens in are input tokens without the cache's.",
		setup: func(fs *flag.FlagSet) runFunc {
			dial := adminFlag(fs)
			asJSON := fs.Bool("json", false, "print the report as JSON")
			window := fs.String("window", "5m", "the `WINDOW`: 1m, 5m, 1h or total (default 5m)")
			return func(ctx context.Context, out streams, args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected argument %q", args[0])
				}
				c, err := dial()
				if err != nil {
					return err
				}
				rep, err := c.Stats(ctx, *window)
				if err != nil {
					return explain(c, err)
				}
				if *asJSON {
					return writeJSON(out.stdout, rep)
				}
				return writeStats(out.stdout, rep, out.colour)
			}
		},
	}
}

func writeStats(w io.Writer, rep *adminapi.StatsReport, colour bool) error {
	var b bytes.Buffer
	since := rep.Since.UTC().Format("2006-01-02 15:04:05 UTC")
	if rep.Window == 0 {
		fmt.Fprintf(&b, "totals since %s\n\n", since)
	} else {
		fmt.Fprintf(&b, "last %s (since %s)\n\n", span(time.Duration(rep.Window)), since)
	}
	t := newTable("SCOPE", "REQUESTS", "4XX", "ERRORS", "FAILOVERS", "TTFB P50", "TTFB P95", "IN", "OUT", "CACHE READ", "CACHE WRITE")
	add := func(scope string, s adminapi.StatsSummary) {
		errs := cell{text: fmt.Sprint(errorCount(s))}
		if errorCount(s) > 0 {
			errs.colour = red
		}
		t.rowCells(cell{text: scope}, cell{text: fmt.Sprint(s.Requests)}, cell{text: fmt.Sprint(s.ByClass["4xx"])},
			errs, cell{text: fmt.Sprint(s.Failovers)}, cell{text: latency(s.TTFB.P50)}, cell{text: latency(s.TTFB.P95)},
			cell{text: count(s.Tokens.Input)}, cell{text: count(s.Tokens.Output)},
			cell{text: count(s.Tokens.CacheRead)}, cell{text: count(s.Tokens.CacheCreation)})
	}
	add("all", rep.Total)
	for _, c := range rep.Clusters {
		add(c.Cluster, c.Summary)
		for _, ep := range c.Endpoints {
			add(c.Cluster+"/"+ep.Endpoint, ep.Summary)
		}
	}
	if err := t.write(&b, colour); err != nil {
		return err
	}
	if rep.Dropped > 0 {
		fmt.Fprintf(&b, "\n%s\n", paint(fmt.Sprintf("%d events dropped: the collector fell behind, so these numbers are low", rep.Dropped), yellow, colour))
	}
	_, err := w.Write(b.Bytes())
	return err
}
