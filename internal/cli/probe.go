package cli

import (
	"context"
	"flag"
	"fmt"
)

// probeCommand is `qcc probe CLUSTER/ENDPOINT`.
func probeCommand() *command {
	return &command{
		name:    "probe",
		args:    "CLUSTER/ENDPOINT",
		summary: "Run an endpoint's active health check now",
		help: "Probe runs the cluster's active health check on one endpoint now and feeds\n" +
			"the result into its state, as a scheduled check would. It exits 1 when the\n" +
			"probe fails or cannot run.",
		setup: func(fs *flag.FlagSet) runFunc {
			dial := adminFlag(fs)
			asJSON := fs.Bool("json", false, "print the result as JSON")
			return func(ctx context.Context, out streams, args []string) error {
				cluster, endpoint, err := endpointArg(args)
				if err != nil {
					return err
				}
				c, err := dial()
				if err != nil {
					return err
				}
				res, err := c.Probe(ctx, cluster, endpoint)
				if err != nil {
					return explain(c, err)
				}
				if *asJSON {
					if err := writeJSON(out.stdout, res); err != nil {
						return err
					}
				} else {
					line := res.Message
					if p := res.Probe; p != nil {
						status := "no answer"
						if p.Status != 0 {
							status = fmt.Sprintf("HTTP %d", p.Status)
						}
						line += fmt.Sprintf(" (%s in %s)", status, latency(p.Duration))
					}
					if res.Endpoint != nil {
						state := endpointState(*res.Endpoint)
						line += "; state " + paint(state, stateColour(state), out.colour)
					}
					if _, err := fmt.Fprintln(out.stdout, line); err != nil {
						return err
					}
				}
				if !res.OK {
					return errReported
				}
				return nil
			}
		},
	}
}
