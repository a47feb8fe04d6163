package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// clearScreen moves the cursor home and clears the terminal, so --watch
// redraws in place.
const clearScreen = "\x1b[H\x1b[2J"

// statusCommand is `qcc status [--watch]`.
func statusCommand() *command {
	return &command{
		name:    "status",
		summary: "Show qccd, its config and every endpoint at a glance",
		help: "Status shows the daemon's version and uptime, the config it runs and the last\n" +
			"reload, the last five minutes of traffic, every endpoint's state, and the\n" +
			"problems qccd knows of. It exits 1 when there is one: an endpoint cooling down\n" +
			"or failing authentication, a cluster with nothing to send to, a failed reload.\n" +
			"With --watch it redraws every --interval until interrupted.",
		setup: func(fs *flag.FlagSet) runFunc {
			dial := adminFlag(fs)
			asJSON := fs.Bool("json", false, "print the status as JSON")
			watch := fs.Bool("watch", false, "redraw the status until interrupted")
			interval := fs.Duration("interval", 2*time.Second, "how often --watch redraws (default 2s)")
			return func(ctx context.Context, out streams, args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected argument %q", args[0])
				}
				if *interval <= 0 {
					return usageErrorf("--interval must be positive")
				}
				c, err := dial()
				if err != nil {
					return err
				}
				show := func(w io.Writer) error {
					st, err := c.Status(ctx)
					if err != nil {
						return explain(c, err)
					}
					if *asJSON {
						if err := writeJSON(w, st); err != nil {
							return err
						}
					} else if err := writeStatus(w, st, out.colour); err != nil {
						return err
					}
					if len(st.Problems) > 0 {
						return errReported
					}
					return nil
				}
				if !*watch {
					return show(out.stdout)
				}
				return watchStatus(ctx, out, *interval, show)
			}
		},
	}
}

// watchStatus redraws show's output every interval until ctx ends, which
// is how a watch ends well: it exits 0. An unreachable daemon is shown and
// tried again.
func watchStatus(ctx context.Context, out streams, interval time.Duration, show func(io.Writer) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	var buf bytes.Buffer
	for {
		buf.Reset()
		if out.colour {
			buf.WriteString(clearScreen)
		}
		fmt.Fprintf(&buf, "every %s, Ctrl-C to stop\n\n", interval)
		if err := show(&buf); err != nil && !errors.Is(err, errReported) {
			var herr *hintedError
			if errors.As(err, &herr) && herr.hint != "" {
				fmt.Fprintf(&buf, "%v\n%s\n", err, herr.hint)
			} else {
				fmt.Fprintf(&buf, "%v\n", err)
			}
		}
		if !out.colour {
			buf.WriteString("\n")
		}
		if _, err := out.stdout.Write(buf.Bytes()); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			// A tick and an interrupt can come together; the interrupt wins.
			if ctx.Err() != nil {
				return nil
			}
		}
	}
}

// writeStatus renders the status for people.
func writeStatus(w io.Writer, st *adminapi.Status, colour bool) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "qccd %s, up %s\n", st.Version, span(time.Duration(st.Uptime)))
	cfg := st.Config
	sum := ""
	if len(cfg.SHA256) >= 8 {
		sum = " (sha256 " + cfg.SHA256[:8] + ")"
	}
	fmt.Fprintf(&b, "config   %s%s, loaded %s\n", cfg.Source, sum, ago(st.Now, cfg.LoadedAt))
	if r := cfg.LastReload; r != nil {
		trigger := ""
		if r.Trigger != "" {
			trigger = " (" + r.Trigger + ")"
		}
		if r.OK {
			fmt.Fprintf(&b, "reload   %s %s%s\n", paint("ok", green, colour), ago(st.Now, r.At), trigger)
		} else {
			fmt.Fprintf(&b, "reload   %s %s%s: %s\n", paint("FAILED", red, colour), ago(st.Now, r.At), trigger, firstLine(r.Error))
		}
	}
	if s := st.Stats; s != nil {
		fmt.Fprintf(&b, "traffic  last 5m: %d requests, %d errors, %d failovers, TTFB p50 %s p95 %s\n",
			s.Requests, errorCount(*s), s.Failovers, latency(s.TTFB.P50), latency(s.TTFB.P95))
		fmt.Fprintf(&b, "tokens   last 5m: %s in, %s out, %s cache read, %s cache write\n",
			count(s.Tokens.Input), count(s.Tokens.Output), count(s.Tokens.CacheRead), count(s.Tokens.CacheCreation))
	}
	b.WriteString("\n")

	t := newTable("CLUSTER", "LISTEN", "ENDPOINT", "STATE", "WEIGHT", "INFLIGHT", "TTFB", "REASON")
	for _, c := range st.Clusters {
		for i, ep := range c.Endpoints {
			name, listen := c.Name, c.Listen
			if i > 0 {
				name, listen = "", ""
			}
			state := endpointState(ep)
			t.rowCells(cell{text: name}, cell{text: listen}, cell{text: ep.Name},
				cell{text: state, colour: stateColour(state)}, cell{text: weight(ep)},
				cell{text: fmt.Sprint(ep.Inflight)}, cell{text: latency(ep.TTFB)}, cell{text: reason(st.Now, ep)})
		}
	}
	if err := t.write(&b, colour); err != nil {
		return err
	}
	writeProblems(&b, st.Problems, colour)
	_, err := w.Write(b.Bytes())
	return err
}

// reason is an endpoint's reason cell: why it is where it is, and until
// when a cool-down runs.
func reason(now time.Time, ep adminapi.Endpoint) string {
	r := ep.Reason
	if ep.CooldownUntil != nil {
		until := span(ep.CooldownUntil.Sub(now)) + " left"
		if !ep.CooldownUntil.After(now) {
			until = "half-open"
		}
		if r == "" {
			return until
		}
		return r + " (" + until + ")"
	}
	return orDash(r)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// firstLine returns s up to its first newline, marking that more follows.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " (and more)"
	}
	return s
}

// writeProblems lists problems under a red heading; nothing when there are none.
func writeProblems(b *bytes.Buffer, problems []string, colour bool) {
	if len(problems) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s\n", paint(fmt.Sprintf("%d %s:", len(problems), plural(len(problems), "problem")), red, colour))
	for _, p := range problems {
		fmt.Fprintf(b, "  - %s\n", p)
	}
}
