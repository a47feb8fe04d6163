package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/qcc-dev/qcc/pkg/adminapi"
)

// endpointsCommand is `qcc endpoints [CLUSTER]`.
func endpointsCommand() *command {
	return &command{
		name:    "endpoints",
		args:    "[CLUSTER]",
		summary: "List endpoints with their state, weights, key fingerprint and upstream",
		help: "Endpoints lists every endpoint, or those of CLUSTER: its state, priority,\n" +
			"configured and effective weight, requests in flight, time to first byte, the\n" +
			"fingerprint of its key (never the key) and where it sends requests. It exits 1\n" +
			"when one of them is cooling down or failing authentication.",
		setup: func(fs *flag.FlagSet) runFunc {
			dial := adminFlag(fs)
			asJSON := fs.Bool("json", false, "print the endpoints as JSON")
			return func(ctx context.Context, out streams, args []string) error {
				if len(args) > 1 {
					return usageErrorf("too many arguments: want at most one CLUSTER")
				}
				cluster := ""
				if len(args) == 1 {
					cluster = args[0]
				}
				c, err := dial()
				if err != nil {
					return err
				}
				eps, err := c.Endpoints(ctx, cluster)
				if err != nil {
					return explain(c, err)
				}
				if *asJSON {
					err = writeJSON(out.stdout, eps)
				} else {
					err = writeEndpoints(out.stdout, eps, out.colour)
				}
				if err != nil {
					return err
				}
				for _, ep := range eps {
					if down(ep) {
						return errReported
					}
				}
				return nil
			}
		},
	}
}

func writeEndpoints(w io.Writer, eps []adminapi.Endpoint, colour bool) error {
	t := newTable("CLUSTER", "ENDPOINT", "STATE", "PRIO", "WEIGHT", "INFLIGHT", "TTFB", "KEY", "AUTH", "BASE URL")
	for _, ep := range eps {
		state := endpointState(ep)
		t.rowCells(cell{text: ep.Cluster}, cell{text: ep.Name}, cell{text: state, colour: stateColour(state)},
			cell{text: fmt.Sprint(ep.Priority)}, cell{text: weight(ep)}, cell{text: fmt.Sprint(ep.Inflight)},
			cell{text: latency(ep.TTFB)}, cell{text: orDash(ep.KeyFingerprint)}, cell{text: ep.Auth}, cell{text: ep.BaseURL})
	}
	return t.write(w, colour)
}
